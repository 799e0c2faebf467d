// Runs an exported query encoder in ONNX Runtime (npm onnxruntime-node@1.24.1, the ORT version
// the Go server links) and checks it against the golden file written by train_encoder.py:
//   1. each golden text alone ([1, seq]) -> mean-pool over the mask -> L2-normalise == torch embedding;
//   2. all golden texts as one batch, right-padded with input_ids 0 / attention_mask 0 ==
//      the single-item outputs at every non-padded position (last_hidden_state and pooled).
//
//   NODE_PATH=/tmp/hftok/node_modules node scripts/encoder/check_onnx.js \
//       models/query-encoder/1/model.onnx models/query-encoder/golden_embeddings.jsonl
"use strict";
const fs = require("fs");
const ort = require("onnxruntime-node");

const TOL = 1e-5;

function tensor(rows, width, fill) {
  const data = new BigInt64Array(rows.length * width);
  rows.forEach((r, i) => r.forEach((v, j) => (data[i * width + j] = BigInt(fill(v)))));
  return new ort.Tensor("int64", data, [rows.length, width]);
}

async function run(sess, seqs) {
  const width = Math.max(...seqs.map((s) => s.length));
  const out = await sess.run({
    input_ids: tensor(seqs, width, (v) => v),
    attention_mask: tensor(seqs, width, () => 1),
    token_type_ids: tensor(seqs, width, () => 0),
  });
  const h = out.last_hidden_state;
  return { data: h.data, dims: h.dims };
}

function pool(data, dims, row, len) {
  const [, seq, hid] = dims;
  const v = new Float64Array(hid);
  for (let t = 0; t < len; t++) for (let k = 0; k < hid; k++) v[k] += data[(row * seq + t) * hid + k];
  let n = 0;
  for (let k = 0; k < hid; k++) {
    v[k] /= len;
    n += v[k] * v[k];
  }
  n = Math.sqrt(n);
  return Array.from(v, (x) => x / n);
}

async function main() {
  const [modelPath, goldenPath] = process.argv.slice(2);
  if (!modelPath || !goldenPath) {
    console.error("usage: check_onnx.js model.onnx golden_embeddings.jsonl");
    process.exit(2);
  }
  const sess = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const golden = fs.readFileSync(goldenPath, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l));
  const seqs = golden.map((g) => g.input_ids);
  let worstGolden = 0;
  const singles = [];
  for (let i = 0; i < seqs.length; i++) {
    const r = await run(sess, [seqs[i]]);
    singles.push(r);
    const e = pool(r.data, r.dims, 0, seqs[i].length);
    e.forEach((x, k) => (worstGolden = Math.max(worstGolden, Math.abs(x - golden[i].embedding[k]))));
  }
  // padded batch: attention_mask 1 on real tokens, 0 on padding
  const width = Math.max(...seqs.map((s) => s.length));
  const pad = (s) => s.concat(new Array(width - s.length).fill(0));
  const out = await sess.run({
    input_ids: tensor(seqs.map(pad), width, (v) => v),
    attention_mask: tensor(seqs.map((s) => pad(s.map(() => 1))), width, (v) => v),
    token_type_ids: tensor(seqs, width, () => 0),
  });
  const b = out.last_hidden_state;
  const [, seqB, hid] = b.dims;
  let worstHidden = 0;
  let worstPooled = 0;
  for (let i = 0; i < seqs.length; i++) {
    const s = singles[i];
    for (let t = 0; t < seqs[i].length; t++)
      for (let k = 0; k < hid; k++)
        worstHidden = Math.max(worstHidden, Math.abs(b.data[(i * seqB + t) * hid + k] - s.data[t * hid + k]));
    const pb = pool(b.data, b.dims, i, seqs[i].length);
    const ps = pool(s.data, s.dims, 0, seqs[i].length);
    pb.forEach((x, k) => (worstPooled = Math.max(worstPooled, Math.abs(x - ps[k]))));
  }
  console.log(
    "check_onnx: %d texts, hidden %d, ORT %s: max |ORT - torch golden| = %s, padded batch [%d x %d]: max |padded - single| hidden = %s, pooled = %s",
    seqs.length, hid, ort.env.versions.node, worstGolden.toExponential(2), seqs.length, width,
    worstHidden.toExponential(2), worstPooled.toExponential(2),
  );
  if (!(worstGolden <= TOL && worstHidden <= TOL && worstPooled <= TOL)) {
    console.error("check_onnx: FAILED (tolerance %s)", TOL);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
