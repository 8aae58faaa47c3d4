import { MigrationInterface, QueryRunner } from "typeorm";

export class RoundOriginAndRequestKey1795706620333 implements MigrationInterface {
    name = 'RoundOriginAndRequestKey1795706620333'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "rounds" ADD "origin" character varying(16) NOT NULL DEFAULT 'message'`);
        await queryRunner.query(`ALTER TABLE "rounds" ADD "source_round_id" uuid`);
        await queryRunner.query(`ALTER TABLE "rounds" ADD "request_key" character varying(240)`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_rounds_dialogue_request_key" ON "rounds" ("dialogue_id", "request_key") `);
        await queryRunner.query(`ALTER TABLE "rounds" ADD CONSTRAINT "CHK_rounds_origin" CHECK ("origin" IN ('message', 'reroll', 'vary'))`);
        await queryRunner.query(`ALTER TABLE "rounds" ADD CONSTRAINT "FK_c0a9011bc653952aadb9dea61aa" FOREIGN KEY ("source_round_id") REFERENCES "rounds"("id") ON DELETE SET NULL ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "rounds" DROP CONSTRAINT "FK_c0a9011bc653952aadb9dea61aa"`);
        await queryRunner.query(`ALTER TABLE "rounds" DROP CONSTRAINT "CHK_rounds_origin"`);
        await queryRunner.query(`DROP INDEX "UQ_rounds_dialogue_request_key"`);
        await queryRunner.query(`ALTER TABLE "rounds" DROP COLUMN "request_key"`);
        await queryRunner.query(`ALTER TABLE "rounds" DROP COLUMN "source_round_id"`);
        await queryRunner.query(`ALTER TABLE "rounds" DROP COLUMN "origin"`);
    }

}
