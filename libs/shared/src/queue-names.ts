/** Queue names shared by producers and consumers. Changing one is a breaking change. */
export enum QueueName {
  Generation = 'vca-generation',
  Training = 'vca-training',
}

/** Job names within the queues; with the queue name they key the handler registry. */
export enum JobName {
  Generate = 'generate',
  Train = 'train',
}
