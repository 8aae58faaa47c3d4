import { MigrationInterface, QueryRunner } from "typeorm";

export class TrainingRunPerSchedule1795702944679 implements MigrationInterface {
    name = 'TrainingRunPerSchedule1795702944679'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_training_runs_trigger_scheduled" ON "training_runs" ("trigger", "scheduled_for") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "UQ_training_runs_trigger_scheduled"`);
    }

}
