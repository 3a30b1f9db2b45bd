export * from './accounts.ts';
export * from './identity.ts';
export * from './reference.ts';
