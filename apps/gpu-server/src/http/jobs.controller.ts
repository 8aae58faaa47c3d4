import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { JobStatusDto } from './http.dto';
import { JobLookupService } from './job-lookup.service';

@ApiTags('jobs')
@Controller('v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobLookupService) {}

  /** Status of a generation job (`round-<roundId>`) or a training job. */
  @Get(':id')
  @ApiOkResponse({ type: JobStatusDto })
  @ApiNotFoundResponse({ description: 'No such job (or it expired after a day).' })
  async get(@Param('id') id: string): Promise<JobStatusDto> {
    const job = await this.jobs.find(id);
    if (!job) throw new NotFoundException('job not found');
    return job;
  }
}
