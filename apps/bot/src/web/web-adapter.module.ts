import { Module } from '@nestjs/common';
import { WebChatAdapter } from './web-chat.adapter';
import { WebEventsHub } from './web-events.hub';

/** The web chat's adapter half (SSE fan-out); kept apart so ChatModule can register it. */
@Module({ providers: [WebEventsHub, WebChatAdapter], exports: [WebEventsHub, WebChatAdapter] })
export class WebAdapterModule {}
