import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { DiskImageStorage, IMAGE_KEY_PATTERN, ImageNotFoundError } from '@vca/shared';
import type { Response } from 'express';

/** Serves generated PNGs by content address; a key never changes its bytes, so caching is forever. */
@Controller('images')
export class ImagesController {
  constructor(private readonly storage: DiskImageStorage) {}

  @Get(':key')
  async image(@Param('key') key: string, @Res() res: Response): Promise<void> {
    if (!IMAGE_KEY_PATTERN.test(key)) throw new NotFoundException('no such image');
    try {
      const png = await this.storage.get(key);
      res.set({ 'content-type': 'image/png', 'cache-control': 'public, max-age=31536000, immutable' }).send(png);
    } catch (err) {
      if (err instanceof ImageNotFoundError) throw new NotFoundException('no such image');
      throw err;
    }
  }
}
