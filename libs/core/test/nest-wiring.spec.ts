import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONVERSATION_OPTIONS,
  ConversationService,
  DialogueQueryService,
  FeedbackService,
  GENERATION_QUEUE,
  ModerationService,
  PROMPT_REFINER,
  RuleBasedPromptRefiner,
  TrainingRunService,
  createTestDatabase,
  type TestDatabase,
} from '@vca/core';
import { RecordingQueue } from './support/fakes';

/** The services resolve through Nest's injector with the documented tokens (decorator metadata intact). */
describe('Nest wiring', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_nest' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('injects DataSource, the queue port, the refiner and the options', async () => {
    const queue = new RecordingQueue();
    @Module({
      providers: [
        { provide: DataSource, useValue: db.dataSource },
        { provide: GENERATION_QUEUE, useValue: queue },
        { provide: PROMPT_REFINER, useClass: RuleBasedPromptRefiner },
        { provide: CONVERSATION_OPTIONS, useValue: { candidates: 2 } },
        ConversationService,
        DialogueQueryService,
        FeedbackService,
        ModerationService,
        TrainingRunService,
      ],
    })
    class CoreTestModule {}

    const app = await NestFactory.createApplicationContext(CoreTestModule, { logger: false });
    try {
      const conversation = app.get(ConversationService);
      const started = await conversation.handleMessage({
        platform: 'web',
        workspaceId: 'local',
        channelId: 'c',
        threadId: 'nest-1',
        userId: 'u',
        text: 'a paper crane',
      });
      expect(started.round.candidateCount).toBe(2);
      expect(queue.jobs.size).toBe(1);
      expect((await app.get(DialogueQueryService).findDialogueByThread('web', 'nest-1'))!.rounds).toHaveLength(1);
      expect(app.get(FeedbackService).raterIdOf('web', 'u')).toHaveLength(64);
      expect(await app.get(ModerationService).listAuditLog()).toEqual([]);
      expect(app.get(TrainingRunService)).toBeInstanceOf(TrainingRunService);
    } finally {
      await app.close();
    }
  });
});
