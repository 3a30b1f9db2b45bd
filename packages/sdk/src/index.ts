export type { components, operations, paths } from '../generated/schema.ts';
export type * from '../generated/types.ts';
export {
  createLeadsyClient,
  type LeadsyClient,
  type LeadsyClientOptions,
  type ListItem,
  type ListPath,
} from './client.ts';
export { LeadsyError, type ProblemFieldError } from './errors.ts';
export { toFormData } from './form-data.ts';
