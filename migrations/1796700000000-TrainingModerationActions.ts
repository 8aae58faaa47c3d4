import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Moderators' learning-loop actions in the audit table: a training run requested, a model version activated or rolled back. */
export class TrainingModerationActions1796700000000 implements MigrationInterface {
  name = 'TrainingModerationActions1796700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "moderation_actions" DROP CONSTRAINT "CHK_moderation_actions_action"`);
    await queryRunner.query(
      `ALTER TABLE "moderation_actions" ADD CONSTRAINT "CHK_moderation_actions_action" CHECK ("action" IN ('approve_label', 'reject_label', 'ban_rater', 'unban_rater', 'delete_image', 'delete_dialogue', 'export_pairs', 'export_dialogues', 'block_term', 'unblock_term', 'request_training', 'activate_model', 'rollback_model'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "moderation_actions" DROP CONSTRAINT "CHK_moderation_actions_action"`);
    await queryRunner.query(
      `ALTER TABLE "moderation_actions" ADD CONSTRAINT "CHK_moderation_actions_action" CHECK ("action" IN ('approve_label', 'reject_label', 'ban_rater', 'unban_rater', 'delete_image', 'delete_dialogue', 'export_pairs', 'export_dialogues', 'block_term', 'unblock_term')) NOT VALID`,
    );
  }
}
