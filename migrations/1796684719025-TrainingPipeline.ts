import { MigrationInterface, QueryRunner } from "typeorm";

export class TrainingPipeline1796684719025 implements MigrationInterface {
    name = 'TrainingPipeline1796684719025'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "images" ADD "model_version_id" uuid`);
        await queryRunner.query(`ALTER TABLE "images" ADD "reward_version_id" uuid`);
        await queryRunner.query(`ALTER TABLE "model_versions" ADD "community_id" character varying(200)`);
        await queryRunner.query(`ALTER TABLE "model_versions" ADD "notes" jsonb NOT NULL DEFAULT '{}'`);
        await queryRunner.query(`ALTER TABLE "model_versions" ADD "activated_at" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`ALTER TABLE "training_runs" ADD "stages" jsonb NOT NULL DEFAULT '{}'`);
        await queryRunner.query(`ALTER TABLE "training_runs" ADD "progress" jsonb NOT NULL DEFAULT '{}'`);
        await queryRunner.query(`ALTER TABLE "training_runs" ADD "report" text`);
        await queryRunner.query(`ALTER TABLE "training_runs" ADD "attempts" integer NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "training_runs" ADD "heartbeat_at" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`ALTER TABLE "training_runs" ADD "job_id" character varying(200)`);
        await queryRunner.query(`ALTER TABLE "training_runs" ADD "options" jsonb NOT NULL DEFAULT '{}'`);
        await queryRunner.query(`CREATE INDEX "IDX_model_versions_kind_community" ON "model_versions" ("kind", "community_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_training_runs_job" ON "training_runs" ("job_id") `);
        // Added by hand: TypeORM does not diff a CHECK whose name stayed. A run that ended well is
        // now `succeeded` (was `completed`); model versions gain the `reward` kind.
        await queryRunner.query(`ALTER TABLE "training_runs" DROP CONSTRAINT "CHK_training_runs_status"`);
        await queryRunner.query(`UPDATE "training_runs" SET "status" = 'succeeded' WHERE "status" = 'completed'`);
        await queryRunner.query(`ALTER TABLE "training_runs" ADD CONSTRAINT "CHK_training_runs_status" CHECK ("status" IN ('scheduled', 'running', 'succeeded', 'failed', 'skipped'))`);
        await queryRunner.query(`ALTER TABLE "model_versions" DROP CONSTRAINT "CHK_model_versions_kind"`);
        await queryRunner.query(`ALTER TABLE "model_versions" ADD CONSTRAINT "CHK_model_versions_kind" CHECK ("kind" IN ('base', 'lora', 'reward'))`);
        // Versions activated before this migration have no activation time: their creation time
        // is the best estimate (rollback orders by it).
        await queryRunner.query(`UPDATE "model_versions" SET "activated_at" = "created_at" WHERE "active"`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        // Reward versions cannot exist under the old CHECK: they are removed (images keep their scores).
        await queryRunner.query(`ALTER TABLE "model_versions" DROP CONSTRAINT "CHK_model_versions_kind"`);
        await queryRunner.query(`DELETE FROM "model_versions" WHERE "kind" = 'reward'`);
        await queryRunner.query(`ALTER TABLE "model_versions" ADD CONSTRAINT "CHK_model_versions_kind" CHECK ("kind" IN ('base', 'lora'))`);
        await queryRunner.query(`ALTER TABLE "training_runs" DROP CONSTRAINT "CHK_training_runs_status"`);
        await queryRunner.query(`UPDATE "training_runs" SET "status" = 'completed' WHERE "status" = 'succeeded'`);
        await queryRunner.query(`ALTER TABLE "training_runs" ADD CONSTRAINT "CHK_training_runs_status" CHECK ("status" IN ('scheduled', 'running', 'completed', 'failed', 'skipped'))`);
        await queryRunner.query(`DROP INDEX "IDX_training_runs_job"`);
        await queryRunner.query(`DROP INDEX "IDX_model_versions_kind_community"`);
        await queryRunner.query(`ALTER TABLE "training_runs" DROP COLUMN "options"`);
        await queryRunner.query(`ALTER TABLE "training_runs" DROP COLUMN "job_id"`);
        await queryRunner.query(`ALTER TABLE "training_runs" DROP COLUMN "heartbeat_at"`);
        await queryRunner.query(`ALTER TABLE "training_runs" DROP COLUMN "attempts"`);
        await queryRunner.query(`ALTER TABLE "training_runs" DROP COLUMN "report"`);
        await queryRunner.query(`ALTER TABLE "training_runs" DROP COLUMN "progress"`);
        await queryRunner.query(`ALTER TABLE "training_runs" DROP COLUMN "stages"`);
        await queryRunner.query(`ALTER TABLE "model_versions" DROP COLUMN "activated_at"`);
        await queryRunner.query(`ALTER TABLE "model_versions" DROP COLUMN "notes"`);
        await queryRunner.query(`ALTER TABLE "model_versions" DROP COLUMN "community_id"`);
        await queryRunner.query(`ALTER TABLE "images" DROP COLUMN "reward_version_id"`);
        await queryRunner.query(`ALTER TABLE "images" DROP COLUMN "model_version_id"`);
    }

}
