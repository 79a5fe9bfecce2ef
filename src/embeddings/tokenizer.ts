/**
 * USE-lite's SentencePiece tokenizer, rewritten to run in linear time. It is the algorithm of
 * `@energetic-ai/embeddings` (a trie of the vocabulary, the best-scoring segmentation by dynamic
 * programming, runs of unknown pieces merged) and yields the same ids for every text
 * (test/embeddings/tokenizer.unit.spec.ts compares the two), but walks the trie from each position
 * without copying the rest of the text first: the package's `symbols.slice(i)` per character made a
 * text of n characters cost n² steps.
 */

/** `[piece, score]` rows; the row index is the token id. */
export type Vocabulary = ReadonlyArray<readonly [string, number]>;

/** SentencePiece's word boundary: a text starts with it and every space becomes it. */
const SEPARATOR = '\u2581';
/** `<unk>`, `<s>`, `</s>` and three spare ids are never matched. */
const RESERVED = 6;

type TrieNode = { children: Map<string, TrieNode>; id: number; score: number };

const node = (): TrieNode => ({ children: new Map(), id: -1, score: 0 });

export class UseLiteTokenizer {
  private readonly root = node();
  /** Length of each piece in UTF-16 units, as the package steps back over it when it reads the segmentation. */
  private readonly pieceLength: Int32Array;

  constructor(private readonly vocabulary: Vocabulary) {
    this.pieceLength = Int32Array.from(vocabulary, ([piece]) => piece.length);
    for (let id = RESERVED; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id]!;
      let at = this.root;
      for (const symbol of piece) {
        let next = at.children.get(symbol);
        if (!next) at.children.set(symbol, (next = node()));
        at = next;
      }
      if (at !== this.root) {
        at.id = id;
        at.score = score;
      }
    }
  }

  encode(input: string): number[] {
    const normalised = input.normalize('NFKC');
    const text = normalised.length > 0 ? SEPARATOR + normalised.replace(/ /g, SEPARATOR) : normalised;
    const symbols = Array.from(text);
    const n = symbols.length;
    // best[e]: score of the best segmentation of symbols[0, e); 0 also means "none yet", as in the package.
    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    const relax = (end: number, score: number, id: number) => {
      if (best[end] === 0 || score >= best[end]!) {
        best[end] = score;
        words[end] = id;
      }
    };
    // Every piece ending at e is offered in the order of its start, so ties go to the piece that starts last, as in the package.
    for (let start = 0; start < n; start++) {
      let at = this.root.children.get(symbols[start]!);
      let matched = false;
      for (let i = start; i < n && at; i++) {
        if (at.id >= 0) {
          relax(i + 1, at.score + best[start]!, at.id);
          matched = true;
        }
        at = i + 1 < n ? at.children.get(symbols[i + 1]!) : undefined;
      }
      if (!matched) relax(start + 1, best[start]!, 0);
    }
    const reversed: number[] = [];
    for (let at = n; at > 0; at -= this.pieceLength[words[at]!]!) reversed.push(words[at]!);
    const ids: number[] = [];
    for (let i = 0; i < reversed.length; i++) if (!(i > 0 && reversed[i - 1] === 0 && reversed[i] === 0)) ids.push(reversed[i]!);
    return ids.reverse();
  }
}
