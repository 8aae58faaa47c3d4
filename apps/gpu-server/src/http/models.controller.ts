import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ModelService } from '../model/model.service';
import { ModelsDto } from './http.dto';

@ApiTags('models')
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly model: ModelService) {}

  /** The models this server can generate with (one per server today: MODEL_DIR). */
  @Get()
  @ApiOkResponse({ type: ModelsDto })
  list(): ModelsDto {
    const info = this.model.status.info;
    return { models: info ? [info] : [] };
  }
}
