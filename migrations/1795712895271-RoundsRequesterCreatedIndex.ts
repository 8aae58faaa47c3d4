import { MigrationInterface, QueryRunner } from "typeorm";

export class RoundsRequesterCreatedIndex1795712895271 implements MigrationInterface {
    name = 'RoundsRequesterCreatedIndex1795712895271'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE INDEX "IDX_rounds_requester_created" ON "rounds" ("requester_id", "created_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "IDX_rounds_requester_created"`);
    }

}
