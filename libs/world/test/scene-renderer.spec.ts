import { describe, expect, it } from 'vitest';
import { PALETTE, SceneRenderer, SceneSchema, sampleScene, type Scene } from '@vca/world';

function pixel(image: { width: number; channels: number; data: Uint8Array }, x: number, y: number): number[] {
  const i = (y * image.width + x) * image.channels;
  return Array.from(image.data.slice(i, i + 3));
}

describe('sampleScene', () => {
  it('is deterministic per seed and always valid', () => {
    expect(sampleScene(42)).toEqual(sampleScene(42));
    const scenes = Array.from({ length: 500 }, (_, i) => sampleScene(i));
    for (const s of scenes) expect(() => SceneSchema.parse(s)).not.toThrow();
    const counts = new Set(scenes.map((s) => s.objects.length));
    expect([...counts].sort()).toEqual([1, 2, 3]);
    // Unnamed style attributes vary independently of the named ones.
    expect(new Set(scenes.map((s) => s.style.texture)).size).toBe(4);
    expect(new Set(scenes.map((s) => s.style.outline)).size).toBe(3);
  });
});

describe(SceneRenderer.name, () => {
  const scene: Scene = {
    background: 'green',
    objects: [
      { shape: 'circle', color: 'red', size: 'large', position: 'center' },
      { shape: 'square', color: 'blue', size: 'medium', position: 'top-left' },
    ],
    style: { outline: 'none', shading: 'flat', texture: 'none', rotationDeg: 0, backgroundPattern: 'flat' },
  };

  it('draws objects in their grid cells on the background colour', () => {
    const image = new SceneRenderer({ size: 64 }).render(scene);
    expect(image).toMatchObject({ width: 64, height: 64, channels: 3 });
    expect(image.data.length).toBe(64 * 64 * 3);
    expect(pixel(image, 1, 62)).toEqual([...PALETTE.green]);
    expect(pixel(image, 32, 32)).toEqual([...PALETTE.red]);
    expect(pixel(image, 11, 11)).toEqual([...PALETTE.blue]);
    expect(pixel(image, 53, 53)).toEqual([...PALETTE.green]);
  });

  it('is deterministic: same scene, same pixels, whatever was drawn before', () => {
    const renderer = new SceneRenderer();
    const first = renderer.render(sampleScene(5));
    renderer.render(sampleScene(6));
    expect(new SceneRenderer().render(sampleScene(5)).data).toEqual(first.data);
    expect(renderer.render(sampleScene(5)).data).toEqual(first.data);
  });

  it('scales to other sizes and RGBA', () => {
    const image = new SceneRenderer({ size: 128, channels: 4 }).render(scene);
    expect(image.data.length).toBe(128 * 128 * 4);
    expect(pixel(image, 64, 64)).toEqual([...PALETTE.red]);
    expect(image.data[3]).toBe(255);
  });

  it('renders style attributes the prompt never names as visible differences', () => {
    const renderer = new SceneRenderer();
    const plain = renderer.render(scene).data;
    for (const style of [{ outline: 'dark' }, { texture: 'stripes' }, { shading: 'radial' }, { backgroundPattern: 'gradient' }] as const) {
      const styled = renderer.render({ ...scene, style: { ...scene.style, ...style } }).data;
      let changed = 0;
      for (let i = 0; i < plain.length; i++) if (Math.abs(plain[i] - styled[i]) > 8) changed++;
      expect(changed, JSON.stringify(style)).toBeGreaterThan(30);
    }
  });
});
