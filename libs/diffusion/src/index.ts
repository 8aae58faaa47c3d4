export * from './schedulers';
