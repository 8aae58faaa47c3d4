import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** Response shapes, for the OpenAPI description at /docs. */

export class HealthChecksDto {
  @ApiProperty() database!: boolean;
  @ApiProperty() redis!: boolean;
  @ApiProperty({ description: 'The diffusion model of MODEL_DIR is loaded.' }) model!: boolean;
  @ApiProperty({ description: 'Queue workers are running (false when WORKERS_ENABLED=false).' }) workers!: boolean;
}

export class HealthDto {
  @ApiProperty({ enum: ['ok', 'degraded'] }) status!: 'ok' | 'degraded';
  @ApiProperty({ type: HealthChecksDto }) checks!: HealthChecksDto;
  @ApiPropertyOptional({ nullable: true, type: String }) modelError!: string | null;
}

export class ModelDto {
  @ApiProperty() version!: string;
  @ApiProperty() dir!: string;
  @ApiProperty() width!: number;
  @ApiProperty() height!: number;
  @ApiProperty({ type: [String] }) schedulers!: string[];
  @ApiProperty({ description: 'onnxruntime execution provider' }) provider!: string;
}

export class ModelsDto {
  @ApiProperty({ type: [ModelDto] }) models!: ModelDto[];
}

export class JobStatusDto {
  @ApiProperty({ example: 'round-3f0c…' }) id!: string;
  @ApiProperty() queue!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children', 'unknown'] })
  state!: string;
  @ApiProperty({ description: 'Last progress report, e.g. {step, totalSteps}', type: Object }) progress!: unknown;
  @ApiProperty() attemptsMade!: number;
  @ApiPropertyOptional({ nullable: true, type: String }) failedReason!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Object, description: 'GenerationResult when completed' }) result!: unknown;
  @ApiProperty() createdAt!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) startedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) finishedAt!: string | null;
}
