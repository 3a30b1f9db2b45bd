export * from './accounts.ts';
export * from './identity.ts';
export * from './pipeline.ts';
export * from './reference.ts';
