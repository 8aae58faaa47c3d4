export * from './redis-connection.util';
export * from './job-definition';
export * from './job-handler.registry';
export * from './job-worker.factory';
export * from './fair-dispatcher';
export * from './generation-events';
export * from './generation-queue.producer';
export * from './training-queue.scheduler';
