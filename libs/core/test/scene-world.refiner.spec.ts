import { describe, expect, it } from 'vitest';
import { generateDialogue, parsePrompt } from '@vca/world';
import { SceneWorldPromptRefiner, isScenePrompt, type RefineInput } from '@vca/core';

const refiner = new SceneWorldPromptRefiner();

function input(previousPrompt: string, feedback: string, history: RefineInput['context']['history'] = []): RefineInput {
  return { previousPrompt, previousNegativePrompt: '', feedback, context: { history, previousEdits: [] } };
}

describe(SceneWorldPromptRefiner.name, () => {
  it('reproduces the ground-truth prompts of generated scene-world dialogues', async () => {
    let rounds = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const dialogue = generateDialogue(seed);
      const history: RefineInput['context']['history'] = [{ userText: dialogue.rounds[0]!.utterance, refinedPrompt: dialogue.rounds[0]!.prompt }];
      for (let t = 1; t < dialogue.rounds.length; t++) {
        const out = await refiner.refine(input(dialogue.rounds[t - 1]!.prompt, dialogue.rounds[t]!.utterance, [...history]));
        expect(parsePrompt(out.prompt), `seed ${seed} round ${t + 1}: ${dialogue.rounds[t]!.utterance}`).toEqual(parsePrompt(dialogue.rounds[t]!.prompt));
        history.push({ userText: dialogue.rounds[t]!.utterance, refinedPrompt: dialogue.rounds[t]!.prompt });
        rounds += 1;
      }
    }
    expect(rounds).toBeGreaterThan(30);
  });

  it('moves and resizes objects, and "it" means the object the dialogue is about', async () => {
    const moved = await refiner.refine(input('a red circle and a blue square on a white background', 'move the square to the top left'));
    expect(parsePrompt(moved.prompt).objects).toContainEqual(expect.objectContaining({ shape: 'square', position: 'top-left' }));
    const history = [
      { userText: 'a red circle and a blue square on a white background', refinedPrompt: 'a red circle and a blue square on a white background' },
      { userText: 'move the square to the top left', refinedPrompt: moved.prompt },
    ];
    const bigger = await refiner.refine(input(moved.prompt, 'make it bigger', history));
    expect(parsePrompt(bigger.prompt).objects).toContainEqual(expect.objectContaining({ shape: 'square', size: 'large' }));
    expect(bigger.edits).toEqual([{ kind: 'rewrite', from: moved.prompt, to: bigger.prompt }]);
  });

  it('hands prompts outside the scene vocabulary to the English rules', async () => {
    expect(isScenePrompt('a red circle on a white background')).toBe(true);
    expect(isScenePrompt('a red fox on a white background')).toBe(false);
    const out = await refiner.refine(input('a red fox in the snow', 'make it blue'));
    expect(out.prompt).toBe('a blue fox in the snow');
  });

  it('hands feedback the scene rules cannot parse or apply to the English rules', async () => {
    const unparsed = await refiner.refine(input('a red circle', 'in watercolor style'));
    expect(unparsed.prompt).toBe('a red circle, in watercolor style');
    // Two objects and no focus: "it" is ambiguous for the scene rules.
    const ambiguous = await refiner.refine(input('a red circle and a blue square', 'make it green'));
    expect(ambiguous.prompt).toContain('green');
  });
});
