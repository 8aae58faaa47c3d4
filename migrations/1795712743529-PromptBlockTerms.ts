import { MigrationInterface, QueryRunner } from "typeorm";

export class PromptBlockTerms1795712743529 implements MigrationInterface {
    name = 'PromptBlockTerms1795712743529'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "prompt_block_terms" ("id" BIGSERIAL NOT NULL, "platform" character varying(16) NOT NULL, "workspace_id" character varying(200) NOT NULL, "term" character varying(100) NOT NULL, "created_by" character varying(200) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "CHK_prompt_block_terms_platform" CHECK ("platform" IN ('discord', 'slack', 'web')), CONSTRAINT "PK_f43aa00dd3e28a4024d775c56b1" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_prompt_block_terms_workspace_term" ON "prompt_block_terms" ("platform", "workspace_id", "term") `);
        // Added by hand: TypeORM does not diff a CHECK whose name stayed (new audit action kinds).
        await queryRunner.query(`ALTER TABLE "moderation_actions" DROP CONSTRAINT "CHK_moderation_actions_action"`);
        await queryRunner.query(`ALTER TABLE "moderation_actions" ADD CONSTRAINT "CHK_moderation_actions_action" CHECK ("action" IN ('approve_label', 'reject_label', 'ban_rater', 'unban_rater', 'delete_image', 'delete_dialogue', 'export_pairs', 'export_dialogues', 'block_term', 'unblock_term'))`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        // The audit log is append-only: rows of the new kinds stay; the old CHECK applies to new rows only.
        await queryRunner.query(`ALTER TABLE "moderation_actions" DROP CONSTRAINT "CHK_moderation_actions_action"`);
        await queryRunner.query(`ALTER TABLE "moderation_actions" ADD CONSTRAINT "CHK_moderation_actions_action" CHECK ("action" IN ('approve_label', 'reject_label', 'ban_rater', 'unban_rater', 'delete_image', 'delete_dialogue', 'export_pairs', 'export_dialogues')) NOT VALID`);
        await queryRunner.query(`DROP INDEX "UQ_prompt_block_terms_workspace_term"`);
        await queryRunner.query(`DROP TABLE "prompt_block_terms"`);
    }

}
