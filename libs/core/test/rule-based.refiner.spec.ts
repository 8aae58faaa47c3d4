import { describe, expect, it } from 'vitest';
import { RuleBasedPromptRefiner, splitClauses, type PromptEdit, type RefinedPrompt } from '@vca/core';

const refiner = new RuleBasedPromptRefiner();

function refine(previousPrompt: string, feedback: string, previousNegativePrompt = '', previousEdits: PromptEdit[] = []): RefinedPrompt {
  return refiner.refineSync({ previousPrompt, previousNegativePrompt, feedback, context: { history: [], previousEdits } });
}

describe(RuleBasedPromptRefiner.name, () => {
  it.each([
    // [previous prompt, feedback, expected prompt, expected negative prompt]
    ['a cat on a sofa', 'replace the cat with a dog', 'a dog on a sofa', ''],
    ['a cat on a sofa', 'change the sofa to an armchair', 'a cat on an armchair', ''],
    ['a cat on a sofa', 'please swap the cat for an owl', 'an owl on a sofa', ''],
    ['a cat on a sofa', 'a dog instead of the cat', 'a dog on a sofa', ''],
    ['a blue car in a city', 'make it red', 'a red car in a city', ''],
    ['a car in a city', 'make it watercolor', 'a car in a city, watercolor', ''],
    ['a white cat on a sofa', 'make the cat black', 'a black cat on a sofa', ''],
    ['a cat on a sofa', 'make the sofa green', 'a cat on a green sofa', ''],
    ['a cat on a sofa', 'add a red hat', 'a cat on a sofa, a red hat', ''],
    ['a cat on a sofa', 'with a lamp in the background', 'a cat on a sofa, a lamp in the background', ''],
    ['a cat with a hat on a sofa', 'remove the hat', 'a cat on a sofa', 'hat'],
    ['a cat on a sofa, trees, blue sky', 'no trees', 'a cat on a sofa, blue sky', 'trees'],
    ['a cat on a sofa, clouds', 'without clouds', 'a cat on a sofa', 'clouds'],
    ['a cat, trees', 'get rid of the trees', 'a cat', 'trees'],
    ['a forest, trees', 'more trees', 'a forest, many trees', ''],
    ['a dark forest', 'more dark', 'a very dark forest', ''],
    ['a very dark forest', 'more dark', 'an extremely dark forest', ''],
    ['a very dark forest', 'less dark', 'a dark forest', ''],
    ['a dark forest', 'less dark', 'a slightly dark forest', ''],
    ['a forest', 'less blurry', 'a forest', 'blurry'],
    ['a forest', 'more colorful', 'a forest, very colorful', ''],
    ['a cat on a sofa', 'at night', 'a cat on a sofa, at night', ''],
    // objects: colour, size and place of a noun phrase, and whole noun phrases removed from lists
    ['a small gray heart and a blue star', 'change the gray heart to orange', 'a small orange heart and a blue star', ''],
    ['a yellow triangle in the center', 'the yellow triangle should be black', 'a black triangle in the center', ''],
    ['a green square on the left', 'make the square a bit smaller', 'a small green square on the left', ''],
    ['a large white heart at the bottom', 'make the heart a little smaller', 'a medium white heart at the bottom', ''],
    ['a pink heart on a red background', 'make the pink heart larger', 'a large pink heart on a red background', ''],
    ['a green square on a red background', 'place the square at the middle left', 'a green square at the middle left on a red background', ''],
    ['a pink triangle in the top left', 'move the triangle to the bottom right', 'a pink triangle at the bottom right', ''],
    ['a cat on a white background', 'change the background to blue', 'a cat on a blue background', ''],
    ['a cat on a pink background', 'red background', 'a cat on a red background', ''],
    ['a cat on a green background', 'use a white background', 'a cat on a white background', ''],
    ['a purple triangle, a pink heart and a large black star', 'without the star', 'a purple triangle, a pink heart', 'star'],
    ['a small white heart and a small white circle on the right', 'take away the heart', 'a small white circle on the right', 'heart'],
    ['a gray square in the center', 'the grey square should be green', 'a green square in the center', ''],
  ])('%j + %j → %j', (prompt, feedback, expected, negative) => {
    const out = refine(prompt, feedback);
    expect(out.prompt).toBe(expected);
    expect(out.negativePrompt).toBe(negative);
    expect(out.source).toBe('rules');
    expect(out.edits.length).toBeGreaterThan(0);
  });

  it('applies several clauses of one message in order', () => {
    const out = refine('a cat on a sofa, trees', 'replace the cat with a dog, remove the trees and add a red ball');
    expect(out.prompt).toBe('a dog on a sofa, a red ball');
    expect(out.negativePrompt).toBe('trees');
    expect(out.edits.map((e) => e.kind)).toEqual(['replace', 'remove', 'add']);
  });

  it('"no, red" corrects a colour the last round got wrong', () => {
    const first = refine('a car in a city', 'make the car blue');
    expect(first.prompt).toBe('a blue car in a city');
    const fixed = refine(first.prompt, 'no, red', first.negativePrompt, first.edits);
    expect(fixed.prompt).toBe('a red car in a city');
  });

  it('a correction of a size or place goes to the object the last round edited', () => {
    const first = refine('a small green square and a large yellow circle in the top right', 'make the square bigger');
    expect(first.prompt).toBe('a medium green square and a large yellow circle in the top right');
    expect(refine(first.prompt, 'no, tiny', '', first.edits).prompt).toBe('a tiny green square and a large yellow circle in the top right');
    expect(refine(first.prompt, 'no, I meant at the bottom left', '', first.edits).prompt).toBe(
      'a medium green square at the bottom left and a large yellow circle in the top right',
    );
  });

  it('"not blue, red" and "red, not blue" replace the named word', () => {
    expect(refine('a blue car', 'not blue, red').prompt).toBe('a red car');
    expect(refine('a blue car', 'red, not blue').prompt).toBe('a red car');
  });

  it('"no, X" without a same-kind word replaces what the last edit added', () => {
    const first = refine('a cat on a sofa', 'add a hat');
    const fixed = refine(first.prompt, 'no, I meant a scarf', first.negativePrompt, first.edits);
    expect(fixed.prompt).toBe('a cat on a sofa, a scarf');
  });

  it('"it" means the object the previous round edited, for object attributes only', () => {
    const first = refine('a blue star and a purple square on a white background', 'make the star small');
    expect(first.prompt).toBe('a small blue star and a purple square on a white background');
    expect(refine(first.prompt, 'turn it gray', '', first.edits).prompt).toBe('a small gray star and a purple square on a white background');
    expect(refine(first.prompt, 'enlarge it', '', first.edits).prompt).toBe('a medium blue star and a purple square on a white background');
    expect(refine(first.prompt, 'make it watercolor', '', first.edits).prompt).toBe(
      'a small blue star and a purple square on a white background, watercolor',
    );
  });

  it('asking for something again takes it out of the negative prompt', () => {
    const out = refine('a cat on a sofa', 'add trees', 'trees, blurry');
    expect(out.prompt).toBe('a cat on a sofa, trees');
    expect(out.negativePrompt).toBe('blurry');
  });

  it('keeps the prompt unchanged for pleasantries but reports no edits', () => {
    const out = refine('a cat on a sofa', 'thanks!');
    expect(out.prompt).toBe('a cat on a sofa');
    expect(out.edits).toEqual([]);
  });

  it('splits clauses on sentences and verb joins, not inside a phrase', () => {
    expect(splitClauses('add a red and blue hat. Remove the trees; more light')).toEqual([
      'add a red and blue hat',
      'Remove the trees',
      'more light',
    ]);
  });
});
