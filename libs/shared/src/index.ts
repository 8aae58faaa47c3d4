export * from './generation-job.schema';
export * from './queue-names';
