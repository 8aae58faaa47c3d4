/**
 * Generation parameters as PNG text chunks: `parameters` in the AUTOMATIC1111 layout that image
 * viewers and SD tools already read, plus `vca:generation` as JSON for exact round-tripping.
 */
export interface PngParameters {
  prompt: string;
  negativePrompt: string;
  steps: number;
  scheduler: string;
  guidanceScale: number;
  seed: number;
  width: number;
  height: number;
  strength?: number;
  model?: string;
  loras?: { name: string; scale: number }[];
}

export function pngTextChunks(p: PngParameters): Record<string, string> {
  const fields = [
    `Steps: ${p.steps}`,
    `Sampler: ${p.scheduler}`,
    `CFG scale: ${p.guidanceScale}`,
    `Seed: ${p.seed}`,
    `Size: ${p.width}x${p.height}`,
    ...(p.strength !== undefined ? [`Denoising strength: ${p.strength}`] : []),
    ...(p.model ? [`Model: ${p.model}`] : []),
    ...(p.loras?.length ? [`Lora: ${p.loras.map((l) => `${l.name}:${l.scale}`).join(' ')}`] : []),
  ];
  // tEXt is Latin-1; keep the chunk ASCII-safe and put the exact values in the JSON chunk.
  const latin1 = (s: string) => s.replace(/[^\x20-\x7e\n]/g, '?');
  return {
    parameters: latin1(`${p.prompt}\nNegative prompt: ${p.negativePrompt}\n${fields.join(', ')}`),
    'vca:generation': latin1(JSON.stringify(p).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)),
  };
}
