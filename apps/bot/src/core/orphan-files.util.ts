import type { LoggerService } from '@nestjs/common';
import type { DeletionResult } from '@vca/core';
import type { ImageStorage } from '@vca/shared';

/**
 * After the core deleted image rows (and audited it), removes the files no row refers to any
 * more. A file left behind is only wasted disk, so failures are logged, not thrown.
 */
export async function removeOrphanFiles(storage: ImageStorage, result: DeletionResult, logger: LoggerService): Promise<void> {
  for (const key of result.orphanedStorageKeys) {
    try {
      await storage.delete(key);
    } catch (err) {
      logger.warn(`could not delete image file ${key}: ${(err as Error).message}`);
    }
  }
}
