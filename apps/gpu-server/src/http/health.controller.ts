import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DatabaseService } from '../database/database.service';
import { JobWorkersService } from '../jobs/job-workers.service';
import { ModelService } from '../model/model.service';
import { RedisHealthService } from '../redis/redis-health.service';
import { HealthDto } from './http.dto';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly database: DatabaseService,
    private readonly redis: RedisHealthService,
    private readonly model: ModelService,
    private readonly workers: JobWorkersService,
  ) {}

  /** 200 when the database, Redis and the model are all up; 503 otherwise (load balancers). */
  @Get()
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto })
  async health(@Res({ passthrough: true }) res: Response): Promise<HealthDto> {
    const [database, redis] = await Promise.all([this.database.ping(), this.redis.ping()]);
    const checks = { database, redis, model: this.model.loaded, workers: this.workers.running };
    const ok = database && redis && checks.model;
    res.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ok ? 'ok' : 'degraded', checks, modelError: this.model.status.error };
  }
}
