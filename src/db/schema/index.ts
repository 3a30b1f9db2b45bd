export * from './accounts.ts';
export * from './api-keys.ts';
export * from './distribution.ts';
export * from './events.ts';
export * from './identity.ts';
export * from './jobs.ts';
export * from './pipeline.ts';
export * from './reference.ts';
