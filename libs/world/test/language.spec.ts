import { describe, expect, it } from 'vitest';
import {
  FeedbackError,
  FeedbackErrorCode,
  applyFeedback,
  captionSpec,
  createRng,
  generateDialogue,
  paraphrases,
  parseFeedback,
  parsePrompt,
  renderFeedback,
  sampleScene,
  specKey,
  specOf,
  type SceneSpec,
} from '@vca/world';

const spec: SceneSpec = {
  background: 'white',
  objects: [
    { shape: 'circle', color: 'red', size: 'small', position: 'middle-left' },
    { shape: 'square', color: 'blue', size: 'large', position: 'top-right' },
  ],
};

describe('caption grammar', () => {
  it('parses every paraphrase back to the scene it describes', () => {
    const rng = createRng(7);
    for (let seed = 0; seed < 1500; seed++) {
      const s = specOf(sampleScene(seed));
      const caption = captionSpec(s, rng);
      expect(specKey(parsePrompt(caption)), caption).toBe(specKey(s));
    }
  });

  it('round-trips prompts that leave attributes open', () => {
    const rng = createRng(4);
    for (let seed = 0; seed < 1500; seed++) {
      const full = specOf(sampleScene(seed));
      const spec: SceneSpec = {
        ...(rng.chance(0.3) ? {} : { background: full.background }),
        objects: full.objects.map((o) => ({
          shape: o.shape,
          ...(rng.chance(0.3) ? {} : { color: o.color }),
          ...(rng.chance(0.3) ? {} : { size: o.size }),
          ...(rng.chance(0.3) ? {} : { position: o.position }),
        })),
      };
      const caption = captionSpec(spec, rng);
      expect(specKey(parsePrompt(caption)), caption).toBe(specKey(spec));
    }
  });

  it('gives many distinct paraphrases and a stable canonical form', () => {
    expect(new Set(paraphrases(spec, 10, createRng(1))).size).toBe(10);
    expect(captionSpec(spec)).toBe('a small red circle on the left and a large blue square in the top right on a white background');
  });

  it('reads looser user phrasings and leaves unnamed attributes open', () => {
    expect(parsePrompt('Draw a big grey heart in the upper right corner, please. Blue backdrop.')).toEqual({
      background: 'blue',
      objects: [{ shape: 'heart', color: 'gray', size: 'large', position: 'top-right' }],
    });
    expect(parsePrompt('a star and a tiny yellow ball')).toEqual({
      objects: [{ shape: 'star' }, { shape: 'circle', color: 'yellow', size: 'small' }],
    });
  });
});

describe('feedback grammar', () => {
  const cases: [string, SceneSpec][] = [
    ['make the circle bigger', { ...spec, objects: [{ ...spec.objects[0], size: 'medium' }, spec.objects[1]] }],
    ['move it to the right', { ...spec, objects: [{ ...spec.objects[0], position: 'middle-right' }, spec.objects[1]] }],
    ['change the background to green', { ...spec, background: 'green' }],
    ['add a small blue star', { ...spec, objects: [...spec.objects, { shape: 'star', color: 'blue', size: 'small' }] }],
    ['remove the square', { ...spec, objects: [spec.objects[0]] }],
    ['no, green', { ...spec, objects: [{ ...spec.objects[0], color: 'green' }, spec.objects[1]] }],
  ];
  it.each(cases)('applies "%s"', (text, expected) => {
    const feedback = parseFeedback(text);
    expect(feedback).toBeDefined();
    // "it" and "no, green" refer to the object the dialogue is about: here the circle.
    expect(applyFeedback(spec, feedback!, { focus: 'circle' }).spec).toEqual(expected);
  });

  it.each([
    ['put a small pink heart in the bottom left', { kind: 'add', object: { shape: 'heart', color: 'pink', size: 'small', position: 'bottom-left' } }],
    ['put the square in the bottom left', { kind: 'move', target: { shape: 'square' }, row: 'bottom', column: 'left' }],
    ['I want it on the left', { kind: 'move', target: 'it', column: 'left' }],
    ['a bit higher please', { kind: 'shift', target: 'it', direction: 'up' }],
    ['a bigger circle', { kind: 'resize', target: { shape: 'circle' }, direction: 'bigger' }],
    ['no red', { kind: 'correction', value: { attribute: 'color', color: 'red' } }],
    ['make the red circle blue', { kind: 'recolor', target: { shape: 'circle', color: 'red' }, color: 'blue' }],
  ])('reads the user phrasing "%s"', (text, expected) => {
    expect(parseFeedback(text)).toEqual(expected);
  });

  it('applies "no, red" to the background when the background was last discussed', () => {
    const after = applyFeedback(spec, parseFeedback('make the background black')!);
    expect(applyFeedback(after.spec, parseFeedback('no, red')!, after.context).spec.background).toBe('red');
  });

  it('refuses feedback that cannot apply, with a code', () => {
    const attempt = (text: string) => () => applyFeedback(spec, parseFeedback(text)!);
    expect(attempt('remove the heart')).toThrow(FeedbackError);
    expect(attempt('move the circle to the top right')).toThrowError(expect.objectContaining({ code: FeedbackErrorCode.CellOccupied }));
    expect(attempt('make it bigger')).toThrowError(expect.objectContaining({ code: FeedbackErrorCode.AmbiguousTarget }));
  });

  it('round-trips every paraphrase through the parser', () => {
    const rng = createRng(3);
    for (let seed = 0; seed < 300; seed++) {
      for (const round of generateDialogue(seed).rounds.slice(1)) {
        const text = renderFeedback(round.feedback!, rng);
        expect(parseFeedback(text), text).toEqual(round.feedback);
      }
    }
  });
});

describe('dialogue generator', () => {
  it('reaches the hidden target by applying each parsed utterance to the prompt', () => {
    let reached = 0;
    let corrections = 0;
    let multiRound = 0;
    for (let seed = 0; seed < 300; seed++) {
      const dialogue = generateDialogue(seed);
      expect(generateDialogue(seed)).toEqual(dialogue);
      expect(specKey(parsePrompt(dialogue.rounds[0].utterance))).toBe(specKey(dialogue.rounds[0].spec));
      let state = { spec: dialogue.rounds[0].spec, context: {} };
      for (const round of dialogue.rounds.slice(1)) {
        state = applyFeedback(state.spec, parseFeedback(round.utterance)!, state.context);
        expect(specKey(state.spec)).toBe(specKey(round.spec));
        expect(specKey(parsePrompt(round.prompt))).toBe(specKey(round.spec));
        if (round.feedback?.kind === 'correction') corrections++;
      }
      if (dialogue.reachedTarget) reached++;
      if (dialogue.rounds.length > 1) multiRound++;
    }
    // A few first prompts already match the target (a mistake undone by another).
    expect(multiRound / 300).toBeGreaterThan(0.9);
    expect(reached / 300).toBeGreaterThan(0.97);
    expect(corrections).toBeGreaterThan(10);
  });
});
