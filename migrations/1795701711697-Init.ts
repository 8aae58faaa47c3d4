import { MigrationInterface, QueryRunner } from "typeorm";

export class Init1795701711697 implements MigrationInterface {
    name = 'Init1795701711697'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "dialogues" ("id" uuid NOT NULL, "platform" character varying(16) NOT NULL, "workspace_id" character varying(200) NOT NULL, "channel_id" character varying(200) NOT NULL, "thread_id" character varying(200) NOT NULL, "owner_id" character varying(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "CHK_dialogues_platform" CHECK ("platform" IN ('discord', 'slack', 'web')), CONSTRAINT "PK_6746abe5bef7ba5c9f006569462" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_dialogues_platform_thread" ON "dialogues" ("platform", "thread_id") `);
        await queryRunner.query(`CREATE TABLE "feedback_events" ("id" uuid NOT NULL, "rater_id" character varying(64) NOT NULL, "image_id" uuid NOT NULL, "round_id" uuid NOT NULL, "signal" character varying(8) NOT NULL, "source" character varying(16) NOT NULL, "platform" character varying(16) NOT NULL, "platform_event_id" character varying(300) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE, "moderation_status" character varying(16) NOT NULL DEFAULT 'pending', "moderated_at" TIMESTAMP WITH TIME ZONE, "moderated_by" character varying(200), CONSTRAINT "CHK_feedback_events_moderation" CHECK ("moderation_status" IN ('pending', 'approved', 'rejected')), CONSTRAINT "CHK_feedback_events_platform" CHECK ("platform" IN ('discord', 'slack', 'web')), CONSTRAINT "CHK_feedback_events_source" CHECK ("source" IN ('reaction', 'button', 'web')), CONSTRAINT "CHK_feedback_events_signal" CHECK ("signal" IN ('up', 'down', 'pick', 'tie')), CONSTRAINT "PK_d26e6ece9bd0a9e64f6e1c602c8" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_feedback_events_round" ON "feedback_events" ("round_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_feedback_events_rater" ON "feedback_events" ("rater_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_feedback_events_image" ON "feedback_events" ("image_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_feedback_events_platform_event" ON "feedback_events" ("platform", "platform_event_id") `);
        await queryRunner.query(`CREATE TABLE "images" ("id" uuid NOT NULL, "round_id" uuid NOT NULL, "candidate_index" integer NOT NULL, "seed" bigint NOT NULL, "steps" integer NOT NULL, "strength" double precision NOT NULL, "guidance_scale" double precision NOT NULL, "model_version" character varying(200) NOT NULL, "lora_versions" jsonb NOT NULL DEFAULT '[]', "content_hash" character(64) NOT NULL, "storage_key" character varying(200) NOT NULL, "width" integer NOT NULL, "height" integer NOT NULL, "scores" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1fe148074c6a1a91b63cb9ee3c9" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_images_content_hash" ON "images" ("content_hash") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_images_round_candidate" ON "images" ("round_id", "candidate_index") `);
        await queryRunner.query(`CREATE TABLE "model_versions" ("id" uuid NOT NULL, "name" character varying(200) NOT NULL, "kind" character varying(8) NOT NULL, "base_version_id" uuid, "path" text NOT NULL, "training_run_id" uuid, "metrics" jsonb NOT NULL DEFAULT '{}', "active" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "CHK_model_versions_kind" CHECK ("kind" IN ('base', 'lora')), CONSTRAINT "PK_77c0256872dcc26394dba4b87ec" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_model_versions_name" ON "model_versions" ("name") `);
        await queryRunner.query(`CREATE TABLE "moderation_actions" ("id" BIGSERIAL NOT NULL, "moderator_id" character varying(200) NOT NULL, "action" character varying(32) NOT NULL, "target_type" character varying(32) NOT NULL, "target_id" character varying(200), "reason" text, "details" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "CHK_moderation_actions_action" CHECK ("action" IN ('approve_label', 'reject_label', 'ban_rater', 'unban_rater', 'delete_image', 'delete_dialogue', 'export_pairs', 'export_dialogues')), CONSTRAINT "PK_d259906fb4d2a5ef718f1f66e35" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_moderation_actions_created" ON "moderation_actions" ("created_at") `);
        await queryRunner.query(`CREATE TABLE "raters" ("id" character varying(64) NOT NULL, "platform" character varying(16) NOT NULL, "banned" boolean NOT NULL DEFAULT false, "banned_reason" text, "banned_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "CHK_raters_platform" CHECK ("platform" IN ('discord', 'slack', 'web')), CONSTRAINT "PK_4a73902fa9e3a88a2e87002adaf" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "rounds" ("id" uuid NOT NULL, "dialogue_id" uuid NOT NULL, "index" integer NOT NULL, "requester_id" character varying(64) NOT NULL, "user_text" text NOT NULL, "refined_prompt" text NOT NULL, "negative_prompt" text NOT NULL DEFAULT '', "refinement" jsonb NOT NULL, "mode" character varying(16) NOT NULL, "parent_image_id" uuid, "kept_image_id" uuid, "status" character varying(16) NOT NULL DEFAULT 'queued', "failure_reason" text, "candidates" jsonb NOT NULL, "steps" integer NOT NULL, "guidance_scale" double precision NOT NULL, "scheduler" character varying(32) NOT NULL DEFAULT 'ddim', "loras" jsonb NOT NULL DEFAULT '[]', "posted_at" TIMESTAMP WITH TIME ZONE, "posted_message_id" character varying(200), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "completed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "CHK_rounds_mode" CHECK ("mode" IN ('txt2img', 'img2img')), CONSTRAINT "CHK_rounds_status" CHECK ("status" IN ('queued', 'running', 'completed', 'failed')), CONSTRAINT "PK_9d254884a20817016e2f877c7e7" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_rounds_dialogue_index" ON "rounds" ("dialogue_id", "index") `);
        await queryRunner.query(`CREATE TABLE "training_runs" ("id" uuid NOT NULL, "status" character varying(16) NOT NULL, "trigger" character varying(16) NOT NULL, "scheduled_for" TIMESTAMP WITH TIME ZONE NOT NULL, "data_summary" jsonb NOT NULL, "data_cutoff" TIMESTAMP WITH TIME ZONE NOT NULL, "base_model_version_id" uuid, "produced_model_version_id" uuid, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "CHK_training_runs_trigger" CHECK ("trigger" IN ('nightly', 'manual')), CONSTRAINT "CHK_training_runs_status" CHECK ("status" IN ('scheduled', 'running', 'completed', 'failed', 'skipped')), CONSTRAINT "PK_3f5056858e48ed5e97b4faaa05a" PRIMARY KEY ("id"))`);
        await queryRunner.query(`ALTER TABLE "feedback_events" ADD CONSTRAINT "FK_c1e06821056b5d829627975d48f" FOREIGN KEY ("rater_id") REFERENCES "raters"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "feedback_events" ADD CONSTRAINT "FK_acbbd67f9c93745aad2c4c5b7cf" FOREIGN KEY ("image_id") REFERENCES "images"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "images" ADD CONSTRAINT "FK_6cdfb78f95d84283d8048c32d35" FOREIGN KEY ("round_id") REFERENCES "rounds"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "rounds" ADD CONSTRAINT "FK_faad049b0ba5cddcc384ef0887d" FOREIGN KEY ("dialogue_id") REFERENCES "dialogues"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "rounds" ADD CONSTRAINT "FK_8448ff8548f1f46f3f3ff6055ed" FOREIGN KEY ("parent_image_id") REFERENCES "images"("id") ON DELETE SET NULL ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "rounds" ADD CONSTRAINT "FK_b87e76360f41e3b31e4230aa830" FOREIGN KEY ("kept_image_id") REFERENCES "images"("id") ON DELETE SET NULL ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "rounds" DROP CONSTRAINT "FK_b87e76360f41e3b31e4230aa830"`);
        await queryRunner.query(`ALTER TABLE "rounds" DROP CONSTRAINT "FK_8448ff8548f1f46f3f3ff6055ed"`);
        await queryRunner.query(`ALTER TABLE "rounds" DROP CONSTRAINT "FK_faad049b0ba5cddcc384ef0887d"`);
        await queryRunner.query(`ALTER TABLE "images" DROP CONSTRAINT "FK_6cdfb78f95d84283d8048c32d35"`);
        await queryRunner.query(`ALTER TABLE "feedback_events" DROP CONSTRAINT "FK_acbbd67f9c93745aad2c4c5b7cf"`);
        await queryRunner.query(`ALTER TABLE "feedback_events" DROP CONSTRAINT "FK_c1e06821056b5d829627975d48f"`);
        await queryRunner.query(`DROP TABLE "training_runs"`);
        await queryRunner.query(`DROP INDEX "UQ_rounds_dialogue_index"`);
        await queryRunner.query(`DROP TABLE "rounds"`);
        await queryRunner.query(`DROP TABLE "raters"`);
        await queryRunner.query(`DROP INDEX "IDX_moderation_actions_created"`);
        await queryRunner.query(`DROP TABLE "moderation_actions"`);
        await queryRunner.query(`DROP INDEX "UQ_model_versions_name"`);
        await queryRunner.query(`DROP TABLE "model_versions"`);
        await queryRunner.query(`DROP INDEX "UQ_images_round_candidate"`);
        await queryRunner.query(`DROP INDEX "IDX_images_content_hash"`);
        await queryRunner.query(`DROP TABLE "images"`);
        await queryRunner.query(`DROP INDEX "UQ_feedback_events_platform_event"`);
        await queryRunner.query(`DROP INDEX "IDX_feedback_events_image"`);
        await queryRunner.query(`DROP INDEX "IDX_feedback_events_rater"`);
        await queryRunner.query(`DROP INDEX "IDX_feedback_events_round"`);
        await queryRunner.query(`DROP TABLE "feedback_events"`);
        await queryRunner.query(`DROP INDEX "UQ_dialogues_platform_thread"`);
        await queryRunner.query(`DROP TABLE "dialogues"`);
    }

}
