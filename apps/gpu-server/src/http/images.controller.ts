import { BadRequestException, Controller, Get, Header, NotFoundException, Param, StreamableFile } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { DiskImageStorage, IMAGE_KEY_PATTERN, ImageNotFoundError } from '@vca/shared';

@ApiTags('images')
@Controller('v1/images')
export class ImagesController {
  constructor(private readonly storage: DiskImageStorage) {}

  /** A stored PNG by its content-addressed key `<sha256>.png`; immutable, so cached for a year. */
  @Get(':key')
  @Header('Cache-Control', 'public, max-age=31536000, immutable')
  @ApiProduces('image/png')
  @ApiOkResponse({ description: 'The PNG bytes.' })
  @ApiNotFoundResponse()
  async get(@Param('key') key: string): Promise<StreamableFile> {
    if (!IMAGE_KEY_PATTERN.test(key)) throw new BadRequestException('key must be <sha256 hex>.png');
    try {
      const bytes = await this.storage.get(key);
      return new StreamableFile(bytes, {
        type: 'image/png',
        length: bytes.length,
        disposition: `inline; filename="${key}"`,
      });
    } catch (err) {
      if (err instanceof ImageNotFoundError) throw new NotFoundException('image not found');
      throw err;
    }
  }
}
