import * as ort from 'onnxruntime-node';
import { GraphBuilder, GradContext, createSession, Rng, numel, probeShapes } from '../src/index';
import { convWeightGrad } from '../src/autodiff/rules/linear.rules';
import * as lin from '../src/autodiff/rules/linear.rules';
(async () => {
  const rng = new Rng(1);
  for (const [cin, cout, hw] of [[64, 64, 16], [192, 64, 16], [128, 128, 8], [256,128,8]]) {
    const B = 32;
    const variants: Record<string, (c: GradContext) => string> = {
      fwd: (c) => c.b.op('Conv', ['x', 'w'], { pads: [1,1,1,1] }),
      wgrad_convtrick: (c) => convWeightGrad(c, 'x', [B,cin,hw,hw], 'g', [B,cout,hw,hw], { strides: [1,1], pads: [1,1,1,1], kernel: [3,3] }),
      wgrad_im2col: (c) => (lin as any).convWeightGradIm2col(c, 'x', [B,cin,hw,hw], 'g', [B,cout,hw,hw], { strides: [1,1], pads: [1,1,1,1], kernel: [3,3] }),
      xgrad_convT: (c) => c.b.op('ConvTranspose', ['g', 'w'], { pads: [1,1,1,1], kernel_shape: [3,3] }),
      xgrad_flip: (c) => (lin as any).convInputGradFlipped(c, 'w', [B,cin,hw,hw], 'g', [B,cout,hw,hw], { strides: [1,1], pads: [1,1,1,1], kernel: [3,3] }),
    };
    const feeds = { x: new ort.Tensor('float32', rng.normalArray(B*cin*hw*hw), [B,cin,hw,hw]), g: new ort.Tensor('float32', rng.normalArray(B*cout*hw*hw), [B,cout,hw,hw]), w: new ort.Tensor('float32', rng.normalArray(cout*cin*9), [cout,cin,3,3]) };
    const sessions: Record<string, ort.InferenceSession> = {};
    for (const [name, f] of Object.entries(variants)) {
      const b = new GraphBuilder('c'); b.input('x','float32',[B,cin,hw,hw]); b.input('g','float32',[B,cout,hw,hw]); b.input('w','float32',[cout,cin,3,3]);
      const info = new Map([['x',{dims:[B,cin,hw,hw],dtype:'float32' as const}],['g',{dims:[B,cout,hw,hw],dtype:'float32' as const}],['w',{dims:[cout,cin,3,3],dtype:'float32' as const}]]);
      const out = f(new GradContext(b, info)); b.output(out);
      sessions[name] = (await createSession(b.build(), { threads: 2 })).session;
    }
    const best: Record<string, number> = {};
    for (let r = 0; r < 8; r++) for (const [name, s] of Object.entries(sessions)) {
      const f2: any = {}; for (const i of s.inputNames) f2[i] = (feeds as any)[i];
      const t0 = performance.now(); await s.run(f2); const dt = performance.now() - t0;
      best[name] = Math.min(best[name] ?? 1e9, dt);
    }
    console.log(cin, cout, hw, JSON.stringify(Object.fromEntries(Object.entries(best).map(([k, v]) => [k, +v.toFixed(1)]))));
  }
})();
