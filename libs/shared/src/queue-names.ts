/** Queue names shared by producers and consumers. Changing one is a breaking change. */
export enum QueueName {
  Generation = 'vca-generation',
  Training = 'vca-training',
}
