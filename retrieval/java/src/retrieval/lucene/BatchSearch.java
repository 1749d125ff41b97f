/*
 * Batch BM25 search for retrieval/bm25.py: the ranking and the scores of Anserini 1.7.1's
 * SearchCollection (and of pyserini's LuceneSearcher.batch_search), computed term at a time straight
 * from the index's postings and norms, without building a Lucene Query per search.
 *
 * Why not IndexSearcher.search: at k=10 on SciFact almost all of a query's time went to Lucene's
 * per-query machinery (the query object, its rewrite, a Weight and TermStates per clause, a bulk
 * scorer and a TopFieldCollector reading the id doc values), not to scoring the few thousand
 * postings a query touches. Here each field's postings and norms are read into arrays once (while
 * they fit in the heap; else they are read from the index at every search), one pass per query term
 * adds its BM25 part into a per-thread score array, and a heap (or, for many hits, a selection over
 * packed sort keys) keeps the best hits. Queries run on several threads, each result in its slot.
 *
 * Kept identical to SearchCollection (-bm25 -bm25.k1 K1 -bm25.b B [-fields ...]), bit for bit:
 *  - the terms: DefaultEnglishAnalyzer.fromArguments("porter", false, null), read as
 *    AnalyzerUtils.analyze does (empty terms skipped); each distinct term once, boosted by its count
 *    (BagOfWordsQueryGenerator: BoostQuery(TermQuery, count)), in every field of -fields with the
 *    field's boost (buildQuery(Map, ...): BoostQuery(per-field query, boost), 1 here);
 *  - each term's part: Lucene 9.9's BM25Similarity in float arithmetic, weight - weight / (1 + freq *
 *    cache[norm]) with weight = boost * idf, idf = (float) log(1 + (docCount - docFreq + 0.5) /
 *    (docFreq + 0.5)) and cache[i] = 1 / (k1 * ((1 - b) + b * LENGTH_TABLE[i] / avgdl)), the
 *    statistics summed over the index's segments (IndexSearcher.collectionStatistics, TermStates);
 *  - a document's score: the sum of its terms' parts in double, then cast to float, as Lucene's
 *    disjunction scorers do; over all fields' terms at once, since BooleanQuery.rewrite flattens the
 *    per-field queries into one disjunction when every field boost is 1 (the BEIR multifield
 *    condition; other boosts are refused);
 *  - the hits: every document matching a term, best first by (score descending, id ascending in
 *    byte order: SearchCollection.BREAK_SCORE_TIES_BY_DOCID), the first `hits` of them;
 *  - the scores handed back: ScoreTiesAdjusterReranker (rounded to 1e-4, ties nudged down by 1e-6).
 * A double sum of floats is exact whatever the order while the parts span fewer than about 2^29 in
 * magnitude (any query of ordinary length); Lucene's own order is not reproduced beyond that.
 *
 * No clause limit: a query of any length is scored over all its distinct terms, which is what Lucene
 * computes with IndexSearcher's max clause count raised (its default, 1,024, makes
 * SearchCollection and LuceneSearcher refuse such a query).
 *
 * Only Lucene classes are used (compiled with javac --release 11 against them, see
 * retrieval/java/build.py); the analyzer, an Anserini class compiled for Java 21, is made by
 * reflection.
 */
package retrieval.lucene;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.IntroSorter;
import org.apache.lucene.util.SmallFloat;

public final class BatchSearch {
  /** Anserini's Constants.ID: the stored and doc-values field holding the collection's docid. */
  public static final String ID = "id";

  public static final String CONTENTS = "contents";

  /** BM25Similarity.LENGTH_TABLE: the field length each one-byte norm stands for. */
  private static final float[] LENGTH_TABLE = new float[256];

  static {
    for (int i = 0; i < 256; i++) {
      LENGTH_TABLE[i] = SmallFloat.byte4ToInt((byte) i);
    }
  }

  private final IndexReader reader;
  private final LeafReaderContext[] leaves;
  private final int maxDoc;
  private final float k1;
  private final float b;
  private final Analyzer analyzer;
  private final Map<String, Field> fieldStats = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Workspace> idle = new ConcurrentLinkedQueue<>();
  /**
   * Set to "false" (System.setProperty), fields opened afterwards read their postings from the index
   * at every search instead of from arrays (what an index too large for the heap gets; for tests).
   */
  public static final String IN_MEMORY_PROPERTY = "retrieval.bm25.postingsInMemory";

  /** Up to this many hits a query keeps its best in a heap; beyond, it selects from sort keys. */
  private static final int HEAP_MAX_HITS = 64;

  /** Documents per block of the block-at-a-time path (its score array: 256 KB). */
  private static final int BLOCK = 1 << 15;

  /** Set (System.setProperty) to a smaller block size before opening a searcher: for tests. */
  public static final String BLOCK_PROPERTY = "retrieval.bm25.blockSize";

  /** The keys path keeps at most this many times k keys between blocks (then selects the best k). */
  private static final int KEYS_KEPT = 2;

  /** A term in 1/DENSE_SHARE of the documents or more may hold its parts by doc number (Field.denseParts). */
  private static final int DENSE_SHARE = 8;

  /** pruneBlock reads a dense term's parts of the candidates where they are fewer than 1/DENSE_BELOW of its postings. */
  private static final int DENSE_BELOW = 4;

  /**
   * The room for rounding in every pruning test (weakTerms, dropHopeless, dropHopelessAddDense): a
   * sum of bounds in double, times this, must stay below the float just under theta.
   */
  private static final double ROUNDING = 1 + 1e-9;

  private static final int POSITIVE_INFINITY_BITS = Float.floatToIntBits(Float.POSITIVE_INFINITY);

  private final int blockDocs = Integer.getInteger(BLOCK_PROPERTY, BLOCK);

  /** Set to "false" before opening a searcher to take the general path always: for tests. */
  public static final String BLOCK_PATH_PROPERTY = "retrieval.bm25.blockPath";

  private final boolean blockPath = !"false".equals(System.getProperty(BLOCK_PATH_PROPERTY));
  private volatile int[] idRank;
  private int[] docByRank;
  private ExecutorService pool;
  private int poolThreads;

  /** Opens the index at {@code path} for BM25(k1, b) search, as SearchCollection does. */
  public BatchSearch(String path, float k1, float b) throws Exception {
    reader = DirectoryReader.open(FSDirectory.open(Paths.get(path)));
    leaves = reader.leaves().toArray(new LeafReaderContext[0]);
    maxDoc = reader.maxDoc();
    this.k1 = k1;
    this.b = b;
    analyzer =
        (Analyzer)
            Class.forName("io.anserini.analysis.DefaultEnglishAnalyzer")
                .getMethod("fromArguments", String.class, boolean.class, String.class)
                .invoke(null, "porter", false, null);
  }

  public int maxDoc() {
    return maxDoc;
  }

  /** Whether {@code field}'s postings are held in arrays (read, with its norms, on first use). */
  public boolean postingsInMemory(String field) throws IOException {
    return fields(new String[] {field})[0].postings != null;
  }

  /** The number of (live) documents in the index at {@code path}. */
  public static int countDocuments(String path) throws Exception {
    try (IndexReader reader = DirectoryReader.open(FSDirectory.open(Paths.get(path)))) {
      return reader.numDocs();
    }
  }

  /**
   * Every document's id in doc-number order, UTF-8, each followed by '\n' (an id holding '\n' is an
   * error). A deleted document (none in the indexes this project builds) gives an empty line.
   */
  public byte[] ids() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream(maxDoc * 12);
    for (LeafReaderContext leaf : leaves) {
      LeafReader leafReader = leaf.reader();
      BinaryDocValues values = leafReader.getBinaryDocValues(ID);
      Bits live = leafReader.getLiveDocs();
      for (int doc = 0; doc < leafReader.maxDoc(); doc++) {
        if ((live == null || live.get(doc)) && values != null && values.advanceExact(doc)) {
          BytesRef id = values.binaryValue();
          for (int i = id.offset; i < id.offset + id.length; i++) {
            if (id.bytes[i] == '\n') {
              throw new IllegalStateException("document id with a newline at doc " + (leaf.docBase + doc));
            }
          }
          out.write(id.bytes, id.offset, id.length);
        } else if (live == null || live.get(doc)) {
          throw new IllegalStateException("document " + (leaf.docBase + doc) + " has no id doc value");
        }
        out.write('\n');
      }
    }
    return out.toByteArray();
  }

  /**
   * Searches every query, on up to {@code threads} threads, keeping the top {@code hits} of each.
   *
   * @param queries UTF-8 query texts, each followed by '\n' (the caller has collapsed whitespace)
   * @param fields the fields to search with their boosts, in -fields order; empty: "contents" only
   * @return little-endian: int32 count per query, then int32 doc numbers, then float32 scores, each
   *     query's hits in SearchCollection's order (score descending, then id ascending) with its
   *     adjusted scores
   */
  public byte[] search(byte[] queries, String[] fields, float[] boosts, int hits, int threads) throws Exception {
    final List<String> texts = splitLines(queries);
    final Field[] searched = fields(fields);
    for (float boost : boosts) {
      if (boost != 1f) {
        // Lucene then scores each field's disjunction apart (no flattening) and sums those: not reproduced.
        throw new IllegalArgumentException("field boosts other than 1 are not supported (got " + boost + ")");
      }
    }
    final int n = texts.size();
    final int k = Math.max(0, Math.min(hits, maxDoc));
    final int[] order = idRank();
    // Queries are taken one at a time by this thread and up to threads - 1 pool threads; each
    // result lands in its query's slot, so the output never depends on the threads. A pool thread
    // the scheduler has set aside (another busy process) would hold its query for a whole time slice:
    // once none are left to take, this thread computes any query still unanswered itself (the same
    // answer) instead of waiting, and whichever finishes first fills the slot.
    final AtomicInteger next = new AtomicInteger();
    final AtomicReferenceArray<Hits> results = new AtomicReferenceArray<>(n);
    final int workers = Math.max(1, Math.min(threads, n / 4));
    Callable<Void> drain =
        () -> {
          Workspace ws = workspace();
          try {
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
              results.compareAndSet(i, null, ws.search(texts.get(i), searched, k, order));
            }
          } finally {
            idle.add(ws);
          }
          return null;
        };
    if (workers > 1) {
      ExecutorService executor = executor(workers - 1);
      for (int w = 1; w < workers; w++) {
        executor.submit(drain);
      }
    }
    drain.call();
    Workspace ws = null;
    try {
      for (int i = 0; i < n; i++) {
        if (results.get(i) == null) {
          ws = ws != null ? ws : workspace();
          results.compareAndSet(i, null, ws.search(texts.get(i), searched, k, order));
        }
      }
    } finally {
      if (ws != null) {
        idle.add(ws);
      }
    }
    final int[][] docs = new int[n][];
    final float[][] scores = new float[n][];
    for (int i = 0; i < n; i++) {
      docs[i] = results.get(i).docs;
      scores[i] = results.get(i).scores;
    }
    int total = 0;
    for (int i = 0; i < n; i++) {
      total += docs[i].length;
    }
    ByteBuffer out = ByteBuffer.allocate(4 * (n + 2 * total)).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      out.putInt(docs[i].length);
    }
    for (int i = 0; i < n; i++) {
      for (int doc : docs[i]) {
        out.putInt(doc);
      }
    }
    for (int i = 0; i < n; i++) {
      for (float score : scores[i]) {
        out.putFloat(score);
      }
    }
    return out.array();
  }

  private synchronized ExecutorService executor(int threads) {
    if (pool == null || poolThreads < threads) {
      if (pool != null) {
        pool.shutdown();
      }
      pool =
          Executors.newFixedThreadPool(
              threads,
              runnable -> {
                Thread thread = new Thread(runnable, "retrieval-bm25-search");
                thread.setDaemon(true);
                return thread;
              });
      poolThreads = threads;
    }
    return pool;
  }

  private Workspace workspace() {
    Workspace ws = idle.poll();
    return ws != null ? ws : new Workspace();
  }

  private synchronized Field[] fields(String[] names) throws IOException {
    String[] wanted = names.length == 0 ? new String[] {CONTENTS} : names;
    Field[] out = new Field[wanted.length];
    for (int i = 0; i < wanted.length; i++) {
      Field field = fieldStats.get(wanted[i]);
      if (field == null) {
        field = new Field(wanted[i]);
        fieldStats.put(wanted[i], field);
      }
      out[i] = field;
    }
    return out;
  }

  /** Each document's position among the ids in byte order (ties, if ids repeat: doc number). */
  private int[] idRank() throws IOException {
    int[] ranks = idRank;
    if (ranks != null) {
      return ranks;
    }
    synchronized (this) {
      if (idRank != null) {
        return idRank;
      }
      final BytesRef[] ids = new BytesRef[maxDoc];
      for (LeafReaderContext leaf : leaves) {
        BinaryDocValues values = leaf.reader().getBinaryDocValues(ID);
        for (int doc = 0; doc < leaf.reader().maxDoc(); doc++) {
          ids[leaf.docBase + doc] =
              values != null && values.advanceExact(doc) ? BytesRef.deepCopyOf(values.binaryValue()) : new BytesRef();
        }
      }
      final int[] perm = new int[maxDoc];
      for (int i = 0; i < maxDoc; i++) {
        perm[i] = i;
      }
      new IntroSorter() {
        private int pivot;

        @Override
        protected void swap(int i, int j) {
          int t = perm[i];
          perm[i] = perm[j];
          perm[j] = t;
        }

        @Override
        protected void setPivot(int i) {
          pivot = perm[i];
        }

        @Override
        protected int comparePivot(int j) {
          return compareDocs(pivot, perm[j]);
        }

        @Override
        protected int compare(int i, int j) {
          return compareDocs(perm[i], perm[j]);
        }

        private int compareDocs(int x, int y) {
          int c = ids[x].compareTo(ids[y]);
          return c != 0 ? c : Integer.compare(x, y);
        }
      }.sort(0, maxDoc);
      ranks = new int[maxDoc];
      for (int i = 0; i < maxDoc; i++) {
        ranks[perm[i]] = i;
      }
      docByRank = perm;
      idRank = ranks;
      return ranks;
    }
  }

  /**
   * One field: its statistics and norms (IndexSearcher.collectionStatistics, LeafSimScorer), read
   * once, and, where they leave a quarter of the heap free (about 5 bytes a posting), every term's
   * postings (doc numbers and frequencies) in arrays; otherwise each search reads them from the index.
   */
  private final class Field {
    final String name;
    final long docCount;
    final float[] cache = new float[256];
    final byte[] norms;
    final boolean zeroPartsPossible;
    final float maxCache; // the largest cache[norm] of the field's documents
    final Map<BytesRef, Postings> postings;

    Field(String name) throws IOException {
      this.name = name;
      long count = 0;
      long sumTotalTermFreq = 0;
      long sumDocFreq = 0;
      long termCount = 0;
      for (LeafReaderContext leaf : leaves) {
        Terms terms = leaf.reader().terms(name);
        if (terms != null) {
          count += terms.getDocCount();
          sumTotalTermFreq += terms.getSumTotalTermFreq();
          sumDocFreq += terms.getSumDocFreq();
          termCount += Math.max(0, terms.size());
        }
      }
      docCount = count;
      float avgdl = (float) (sumTotalTermFreq / (double) count);
      for (int i = 0; i < 256; i++) {
        cache[i] = 1f / (k1 * ((1 - b) + b * LENGTH_TABLE[i] / avgdl));
      }
      norms = new byte[maxDoc];
      for (LeafReaderContext leaf : leaves) {
        NumericDocValues values = leaf.reader().getNormValues(name);
        if (values == null) {
          java.util.Arrays.fill(norms, leaf.docBase, leaf.docBase + leaf.reader().maxDoc(), (byte) 1);
          continue;
        }
        for (int doc = values.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = values.nextDoc()) {
          norms[leaf.docBase + doc] = (byte) values.longValue();
        }
      }
      // A part is weight - weight / tfn with tfn = 1 + freq * cache[norm]: above 0 for any weight
      // once tfn >= 1 + 2^-21. Only a document some 10^7 times longer than the average could fall
      // below; then a score of 0 could mean a match, and the searches take the marking path.
      boolean[] used = new boolean[256];
      for (byte norm : norms) {
        used[norm & 0xFF] = true;
      }
      boolean tiny = false;
      float most = 0;
      for (int i = 0; i < 256; i++) {
        tiny |= used[i] && !(1f + cache[i] >= 1f + 0x1p-21f);
        most = used[i] ? Math.max(most, cache[i]) : most;
      }
      zeroPartsPossible = tiny;
      maxCache = most;
      Runtime runtime = Runtime.getRuntime();
      long free = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
      long needed = 5 * sumDocFreq + 120 * termCount;
      boolean allowed = !"false".equals(System.getProperty(IN_MEMORY_PROPERTY));
      postings = allowed && needed < free - runtime.maxMemory() / 4 ? load() : null;
    }

    private Map<BytesRef, Postings> load() throws IOException {
      // Two passes over the segments' terms: the sizes (docFreq summed), then the postings, each
      // segment's appended in doc-number order into arrays made once.
      Map<BytesRef, Postings> out = new HashMap<>();
      for (LeafReaderContext leaf : leaves) {
        Terms terms = leaf.reader().terms(name);
        if (terms == null) {
          continue;
        }
        TermsEnum te = terms.iterator();
        for (BytesRef term = te.next(); term != null; term = te.next()) {
          Postings p = out.get(term);
          if (p == null) {
            p = new Postings();
            out.put(BytesRef.deepCopyOf(term), p);
          }
          p.docFreq += te.docFreq();
        }
      }
      PostingsEnum pe = null;
      for (LeafReaderContext leaf : leaves) {
        Terms terms = leaf.reader().terms(name);
        if (terms == null) {
          continue;
        }
        Bits live = leaf.reader().getLiveDocs();
        TermsEnum te = terms.iterator();
        for (BytesRef term = te.next(); term != null; term = te.next()) {
          Postings p = out.get(term);
          pe = te.postings(pe, PostingsEnum.FREQS);
          for (int d = pe.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = pe.nextDoc()) {
            if (live == null || live.get(d)) {
              p.add(leaf.docBase + d, pe.freq());
            }
          }
        }
      }
      for (Postings p : out.values()) {
        p.trim();
      }
      // A term the query holds once (nearly every term of nearly every query) adds the same part for
      // a document every time: computed here, float for float as in add(), where 4 more bytes a
      // posting leave a quarter of the heap free.
      Runtime runtime = Runtime.getRuntime();
      long free = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
      long postingCount = 0;
      for (Postings p : out.values()) {
        postingCount += p.docs.length;
      }
      if (4 * postingCount < free - runtime.maxMemory() / 4) {
        for (Postings p : out.values()) {
          float weight = idf(p.docFreq); // boost 1
          float[] parts = new float[p.docs.length];
          float most = 0;
          for (int i = 0; i < parts.length; i++) {
            parts[i] = weight - weight / (1f + p.freq(i) * cache[norms[p.docs[i]] & 0xFF]);
            most = Math.max(most, parts[i]);
          }
          p.unitParts = parts;
          p.maxUnitPart = most;
        }
        denseParts(out.values());
      }
      return out;
    }

    /**
     * The most frequent terms (in an eighth of the documents or more) also get their precomputed
     * parts by doc number (0 where the term is absent), most frequent first, in at most half of the
     * heap above its free quarter: pruneBlock then finds such a weak term's part of a candidate
     * directly, instead of walking the term's postings through the block.
     */
    private void denseParts(java.util.Collection<Postings> all) {
      List<Postings> frequent = new ArrayList<>();
      for (Postings p : all) {
        if (p.docs.length >= Math.max(1, maxDoc / DENSE_SHARE)) {
          frequent.add(p);
        }
      }
      frequent.sort((x, y) -> Integer.compare(y.docs.length, x.docs.length));
      Runtime runtime = Runtime.getRuntime();
      long free = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
      long budget = (free - runtime.maxMemory() / 4) / 2; // half the room: another field's postings may need the rest
      for (Postings p : frequent) {
        budget -= 4L * maxDoc;
        if (budget < 0) {
          return;
        }
        float[] dense = new float[maxDoc];
        for (int i = 0; i < p.docs.length; i++) {
          dense[p.docs[i]] = p.unitParts[i];
        }
        p.denseParts = dense;
      }
    }

    /** BM25Similarity.idf for a term in {@code docFreq} of this field's documents. */
    float idf(long docFreq) {
      return (float) Math.log(1 + (docCount - docFreq + 0.5D) / (docFreq + 0.5D));
    }
  }

  /** One query's hits: doc numbers, best first, and their adjusted scores. */
  private static final class Hits {
    final int[] docs;
    final float[] scores;

    Hits(int[] docs, float[] scores) {
      this.docs = docs;
      this.scores = scores;
    }
  }

  /** One term's postings in one field, over all segments: doc numbers ascending and their frequencies. */
  private static final class Postings {
    long docFreq; // as Lucene's statistics count it (deleted documents included)
    int[] docs;
    byte[] freqs; // unsigned; null once a frequency exceeds 255 (then wideFreqs)
    int[] wideFreqs;
    float[] unitParts; // each posting's part for a query holding the term once, or null
    float maxUnitPart; // the largest of them
    float[] denseParts; // unitParts by doc number (0 where absent), for the most frequent terms, or null
    int maxFreq;
    int size;

    void add(int doc, int freq) {
      if (docs == null) {
        docs = new int[(int) docFreq];
        freqs = new byte[(int) docFreq];
      }
      if (size == docs.length) { // not with docFreq counted as Lucene does; kept safe all the same
        docs = java.util.Arrays.copyOf(docs, 2 * size + 1);
        if (freqs != null) {
          freqs = java.util.Arrays.copyOf(freqs, docs.length);
        } else {
          wideFreqs = java.util.Arrays.copyOf(wideFreqs, docs.length);
        }
      }
      if (freqs != null && freq > 255) {
        wideFreqs = new int[docs.length];
        for (int i = 0; i < size; i++) {
          wideFreqs[i] = freqs[i] & 0xFF;
        }
        freqs = null;
      }
      docs[size] = doc;
      maxFreq = Math.max(maxFreq, freq);
      if (freqs != null) {
        freqs[size] = (byte) freq;
      } else {
        wideFreqs[size] = freq;
      }
      size++;
    }

    void trim() {
      if (docs == null) {
        docs = new int[0];
        freqs = new byte[0];
      } else if (size < docs.length) {
        docs = java.util.Arrays.copyOf(docs, size);
        if (freqs != null) {
          freqs = java.util.Arrays.copyOf(freqs, size);
        } else {
          wideFreqs = java.util.Arrays.copyOf(wideFreqs, size);
        }
      }
    }

    int freq(int i) {
      return freqs != null ? freqs[i] & 0xFF : wideFreqs[i];
    }
  }

  /**
   * One thread's scratch space. Two paths: postings in arrays go block at a time (searchBlocks);
   * otherwise (postings read from the index, or a field where a match could score 0) a score and a
   * match bit per document, both cleared as the hits are read out.
   */
  private final class Workspace {
    // The general path's score per document and match bits (made on its first use).
    double[] acc;
    long[] matched;
    final Map<String, TermsEnum[]> enums = new HashMap<>();
    final TermsEnum[] found = new TermsEnum[leaves.length];
    PostingsEnum postings;
    long[] keys = new long[64];
    float[] heapScores = new float[16];
    int[] heapDocs = new int[16];

    Hits search(String text, Field[] fields, int k, int[] rank) throws IOException {
      boolean blocks = blockPath;
      for (Field field : fields) {
        blocks &= field.postings != null && !field.zeroPartsPossible;
      }
      if (blocks) {
        return searchBlocks(text, fields, k, rank);
      }
      Map<String, Integer> counts = analyze(text);
      if (acc == null) {
        acc = new double[maxDoc];
        matched = new long[(maxDoc + 63) >>> 6];
      }
      for (Field field : fields) {
        add(field, counts);
      }
      int[] docs;
      float[] scores;
      if (k <= HEAP_MAX_HITS) {
        int size = select(k, rank);
        docs = new int[size];
        scores = new float[size];
        // Pop the heap, worst first, into the back of the arrays: best first, ties by id ascending.
        for (int i = size - 1; i >= 0; i--) {
          docs[i] = heapDocs[0];
          scores[i] = heapScores[0];
          heapScores[0] = heapScores[i];
          heapDocs[0] = heapDocs[i];
          siftDown(0, i, rank);
        }
      } else {
        // Many hits: one long key per document (score descending, then id ascending), the best k
        // selected, then sorted.
        return bestOfKeys(keys(rank), k);
      }
      adjustTies(scores);
      return new Hits(docs, scores);
    }

    /** The best k of the first {@code count} sort keys, decoded to doc numbers and scores, ties adjusted. */
    private Hits bestOfKeys(int count, int k) {
      int size = Math.min(k, count);
      if (size < count) {
        selectSmallest(keys, count, size);
      }
      java.util.Arrays.sort(keys, 0, size);
      int[] docs = new int[size];
      float[] scores = new float[size];
      int[] byRank = docByRank;
      for (int i = 0; i < size; i++) {
        docs[i] = byRank[(int) keys[i]];
        scores[i] = Float.intBitsToFloat(POSITIVE_INFINITY_BITS - (int) (keys[i] >>> 32));
      }
      adjustTies(scores);
      return new Hits(docs, scores);
    }


    // ---- the path for postings in arrays: block at a time -----------------------------------------
    // The documents are taken BLOCK at a time: every query term adds its parts for the block into a
    // score array of the block's size (in the CPU's cache however large the corpus), then the block's
    // scores are read for the best hits and cleared. A matched document scores above 0 (Field's
    // zeroPartsPossible), so no document is marked: an unmatched one scores 0 and never enters.
    final org.apache.lucene.util.BytesRefBuilder tokenBytes = new org.apache.lucene.util.BytesRefBuilder();
    Postings[] termPostings = new Postings[16];
    Field[] termFields = new Field[16];
    int[] termCounts = new int[16];
    float[] termWeights = new float[16];
    byte[][] termNorms = new byte[16][];
    float[][] termCaches = new float[16][];
    int[] termPos = new int[16];
    float[] termBounds = new float[16];
    float[] termScales = new float[16]; // the query's count of the term (its precomputed parts' factor)
    Integer[] byBound = new Integer[0];
    double[] boundSums = new double[17];
    int[] candidates = new int[0];
    long[] candBits = new long[0]; // pruneBlock's candidates, a bit per document of the block
    double[] blockAcc;
    int[] heapRanks = new int[16];

    private Hits searchBlocks(String text, Field[] fields, int k, int[] rank) throws IOException {
      int terms = resolveTerms(text, fields);
      for (int t = 0; t < terms; t++) {
        Postings p = termPostings[t];
        Field field = termFields[t];
        int count = termCounts[t];
        // boost * idf, the boost being the count; NaN marks the precomputed parts, scaled by the
        // count. That is exact for a count that is a power of two: count * idf, its quotient and the
        // difference are each the count-1 value times that power (float rounding commutes with it).
        float weight = (float) count * field.idf(p.docFreq);
        boolean unit = p.unitParts != null && (count & (count - 1)) == 0;
        termWeights[t] = unit ? Float.NaN : weight;
        termScales[t] = count;
        // the largest part the term can add (a part grows with freq * cache[norm])
        termBounds[t] = unit ? p.maxUnitPart * count : weight - weight / (1f + p.maxFreq * field.maxCache);
        termNorms[t] = field.norms;
        termCaches[t] = field.cache;
        termPos[t] = 0;
      }
      int blockSize = Math.min(blockDocs, Math.max(1, maxDoc));
      if (blockAcc == null) {
        blockAcc = new double[blockSize];
      }
      boolean heap = k <= HEAP_MAX_HITS;
      int size = 0; // heap: entries in use (sentinels included); keys: keys collected
      if (heap) {
        if (heapDocs.length < k) {
          heapDocs = new int[k];
          heapScores = new float[k];
          heapRanks = new int[k];
        }
        // k sentinels: score 0 and rank -1 rank below every matched document, and no unmatched one
        // (score 0, rank >= 0) gets past them.
        java.util.Arrays.fill(heapDocs, 0, k, -1);
        java.util.Arrays.fill(heapScores, 0, k, 0f);
        java.util.Arrays.fill(heapRanks, 0, k, -1);
        size = k;
      } else if (keys.length < KEYS_KEPT * (long) k + blockSize) {
        keys = new long[(int) Math.min(Integer.MAX_VALUE - 8, KEYS_KEPT * (long) k + blockSize)];
      }
      double[] acc = blockAcc;
      bar = Long.MAX_VALUE;
      // MaxScore (Turtle and Flood): the terms by their largest part, and the sums of those bounds
      // over the weakest terms first. Once the best k so far score theta, a document holding only
      // terms whose bounds sum below theta cannot enter: a block then scores only the documents
      // some other ("essential") term holds, and finds the weaker terms' postings for those alone.
      if (byBound.length < terms) {
        byBound = new Integer[Math.max(terms, 2 * byBound.length)];
        boundSums = new double[byBound.length + 1];
      }
      for (int t = 0; t < terms; t++) {
        byBound[t] = t;
      }
      final float[] bounds = termBounds;
      java.util.Arrays.sort(byBound, 0, terms, (x, y) -> Float.compare(bounds[x], bounds[y]));
      for (int t = 0; t < terms; t++) {
        boundSums[t + 1] = boundSums[t] + bounds[byBound[t]];
      }
      if (candidates.length < blockSize) {
        candidates = new int[blockSize];
        candBits = new long[(blockSize + 63) >>> 6];
      }
      for (int lo = 0; lo < maxDoc; lo += blockSize) {
        int hi = Math.min(maxDoc, lo + blockSize);
        float theta = heap ? heapScores[0] : barScore();
        int weak = weakTerms(terms, theta);
        if (weak > 0) {
          size = pruneBlock(acc, lo, hi, terms, weak, theta, heap, k, size, rank);
          if (!heap && size > KEYS_KEPT * (long) k) {
            selectSmallest(keys, size, k);
            size = k;
            bar = keys[k - 1];
          }
          continue;
        }
        boolean any = false;
        for (int t = 0; t < terms; t++) {
          Postings p = termPostings[t];
          int[] docs = p.docs;
          int i = termPos[t];
          if (i == docs.length || docs[i] >= hi) {
            continue;
          }
          any = true;
          int end = hi == maxDoc ? docs.length : lowerBound(docs, i, docs.length, hi);
          float weight = termWeights[t];
          if (weight != weight) { // NaN: the term's precomputed parts
            addParts(acc, lo, docs, p.unitParts, termScales[t], i, end);
          } else if (p.freqs != null) {
            addWeighted(acc, lo, docs, p.freqs, i, end, weight, termNorms[t], termCaches[t]);
          } else {
            addWeighted(acc, lo, docs, p.wideFreqs, i, end, weight, termNorms[t], termCaches[t]);
          }
          termPos[t] = end;
        }
        if (!any) {
          continue;
        }
        if (heap) {
          offerBlock(acc, lo, hi - lo, k, rank);
        } else {
          size = keyBlock(acc, lo, hi - lo, size, rank);
          if (size > KEYS_KEPT * (long) k) {
            selectSmallest(keys, size, k);
            size = k;
            bar = keys[k - 1]; // the k-th best so far: only a better key can be among the best k
          }
        }
      }
      int[] docs;
      float[] scores;
      if (heap) {
        int real = 0;
        for (int i = 0; i < k; i++) {
          real += heapDocs[i] >= 0 ? 1 : 0;
        }
        docs = new int[real];
        scores = new float[real];
        // Pop the heap, worst first (sentinels first), into the back: best first, ties by id ascending.
        for (int i = k - 1; i >= 0; i--) {
          if (i < real) {
            docs[i] = heapDocs[0];
            scores[i] = heapScores[0];
          }
          heapDocs[0] = heapDocs[i];
          heapScores[0] = heapScores[i];
          heapRanks[0] = heapRanks[i];
          siftDownRanked(0, i);
        }
      } else {
        return bestOfKeys(size, k);
      }
      adjustTies(scores);
      return new Hits(docs, scores);
    }

    long bar; // the keys path: a key must be below this to be kept

    /**
     * The query's distinct terms found in each field, with their counts, into termPostings,
     * termFields and termCounts (AnalyzerUtils.analyze and BagOfWordsQueryGenerator's counting, each
     * token looked up by its UTF-8 bytes as Lucene's Term holds them, no String made); returns how
     * many. A term no field holds adds nothing and is dropped here.
     */
    private int resolveTerms(String text, Field[] fields) throws IOException {
      int terms = 0;
      java.util.IdentityHashMap<Postings, Integer> seen = null; // past 32 terms: no linear search
      try (TokenStream stream = analyzer.tokenStream(null, new StringReader(text))) {
        CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
        stream.reset();
        while (stream.incrementToken()) {
          if (term.length() == 0) {
            continue;
          }
          tokenBytes.copyChars(term.buffer(), 0, term.length());
          BytesRef key = tokenBytes.get();
          for (Field field : fields) {
            Postings p = field.postings.get(key);
            if (p == null || p.docs.length == 0) {
              continue;
            }
            int at = -1;
            if (seen != null) {
              Integer known = seen.get(p);
              at = known == null ? -1 : known;
            } else {
              for (int t = 0; t < terms; t++) {
                if (termPostings[t] == p) {
                  at = t;
                  break;
                }
              }
            }
            if (at >= 0) {
              termCounts[at]++;
              continue;
            }
            if (terms == termPostings.length) {
              grow(2 * terms);
            }
            termPostings[terms] = p;
            termFields[terms] = field;
            termCounts[terms] = 1;
            terms++;
            if (seen == null && terms > 32) {
              seen = new java.util.IdentityHashMap<>();
              for (int t = 0; t < terms; t++) {
                seen.put(termPostings[t], t);
              }
            } else if (seen != null) {
              seen.put(p, terms - 1);
            }
          }
        }
        stream.end();
      }
      return terms;
    }

    private void grow(int size) {
      termPostings = java.util.Arrays.copyOf(termPostings, size);
      termFields = java.util.Arrays.copyOf(termFields, size);
      termCounts = java.util.Arrays.copyOf(termCounts, size);
      termWeights = java.util.Arrays.copyOf(termWeights, size);
      termNorms = java.util.Arrays.copyOf(termNorms, size);
      termCaches = java.util.Arrays.copyOf(termCaches, size);
      termPos = java.util.Arrays.copyOf(termPos, size);
      termBounds = java.util.Arrays.copyOf(termBounds, size);
      termScales = java.util.Arrays.copyOf(termScales, size);
    }

    /** The score of the bar (the k-th best key so far), or 0 while fewer than k are known. */
    private float barScore() {
      return bar == Long.MAX_VALUE ? 0f : Float.intBitsToFloat(POSITIVE_INFINITY_BITS - (int) (bar >>> 32));
    }

    /**
     * How many of the weakest terms (byBound order) cannot lift a document to {@code theta} on their
     * own: their bounds' sum, with room for rounding, stays below the float just under theta, so
     * such a document's float score is below theta (not even a tie).
     */
    private int weakTerms(int terms, float theta) {
      double below = Math.nextDown(theta);
      int weak = 0;
      while (weak < terms && boundSums[weak + 1] * ROUNDING < below) {
        weak++;
      }
      return weak;
    }

    /**
     * One block with its {@code weak} weakest terms pruned: the other terms' postings add their parts
     * and mark their documents in a bitmap of the block (the candidates), the candidates are read
     * from it in ascending order, the weak terms add their parts to the candidates only (each list
     * walked forward by galloping, or scanned against the bitmap), then the candidates are offered
     * and their scores cleared. Returns the keys path's new key count.
     */
    private int pruneBlock(
        double[] acc, int lo, int hi, int terms, int weak, float theta, boolean heap, int k, int size, int[] rank) {
      long[] bits = candBits;
      for (int o = weak; o < terms; o++) {
        int t = byBound[o];
        Postings p = termPostings[t];
        int[] docs = p.docs;
        int i = termPos[t];
        int end = hi == maxDoc ? docs.length : lowerBound(docs, i, docs.length, hi);
        float weight = termWeights[t];
        if (weight != weight) {
          markParts(acc, bits, lo, docs, p.unitParts, termScales[t], i, end);
        } else if (p.freqs != null) {
          markWeighted(acc, bits, lo, docs, p.freqs, i, end, weight, termNorms[t], termCaches[t]);
        } else {
          markWeighted(acc, bits, lo, docs, p.wideFreqs, i, end, weight, termNorms[t], termCaches[t]);
        }
        termPos[t] = end;
      }
      // the candidates in ascending order, from the bitmap (no sort)
      int words = (hi - lo + 63) >>> 6;
      int found = 0;
      int[] cand = candidates;
      for (int w = 0; w < words; w++) {
        long word = bits[w];
        while (word != 0) {
          cand[found++] = (w << 6) + Long.numberOfTrailingZeros(word);
          word &= word - 1;
        }
      }
      double below = Math.nextDown(theta);
      // The weak terms from the strongest down. Before a term with more postings in the block than
      // candidates, a candidate whose score so far plus the bounds of the weak terms still to come
      // stays below theta (with room for rounding, as in weakTerms) cannot enter: dropped, score and
      // bit cleared. Then the term's parts by doc number (few candidates, a dense term), galloping
      // (few candidates), or a scan of its postings against the bitmap.
      for (int o = weak - 1; o >= 0; o--) {
        int t = byBound[o];
        Postings p = termPostings[t];
        int[] docs = p.docs;
        int i = termPos[t];
        int end = hi == maxDoc ? docs.length : lowerBound(docs, i, docs.length, hi);
        float weight = termWeights[t];
        float scale = termScales[t];
        if (p.denseParts != null && weight != weight && (long) found * DENSE_BELOW < end - i) { // one pass: drop, add
          found = dropHopelessAddDense(acc, bits, cand, found, boundSums[o + 1], below, p.denseParts, lo, scale);
          termPos[t] = end;
          continue;
        }
        if (found > 0 && found <= end - i) { // a pass over the candidates, worth it before more postings
          found = dropHopeless(acc, bits, cand, found, boundSums[o + 1], below);
        }
        byte[] norms = termNorms[t];
        float[] cache = termCaches[t];
        if (found == 0) {
          // nothing to add to
        } else if ((long) found * 32 < end - i) {
          // few candidates for many postings: find each candidate's posting
          for (int c = 0; c < found && i < end; c++) {
            int target = lo + cand[c];
            i = gallop(docs, i, target);
            if (i < end && docs[i] == target) {
              acc[cand[c]] += part(p, i, weight, scale, norms, cache);
            }
          }
        } else if (weight != weight) {
          addToCandidates(acc, bits, lo, docs, p.unitParts, scale, i, end);
        } else {
          for (; i < end; i++) {
            int j = docs[i] - lo;
            if ((bits[j >>> 6] & (1L << j)) != 0) {
              acc[j] += part(p, i, weight, scale, norms, cache);
            }
          }
        }
        termPos[t] = end;
      }
      java.util.Arrays.fill(bits, 0, words, 0L);
      for (int c = 0; c < found; c++) {
        int j = cand[c];
        double a = acc[j];
        acc[j] = 0;
        float score = (float) a;
        int r = rank[lo + j];
        if (heap) {
          if (score > heapScores[0] || (score == heapScores[0] && r < heapRanks[0])) {
            heapDocs[0] = lo + j;
            heapScores[0] = score;
            heapRanks[0] = r;
            siftDownRanked(0, k);
          }
        } else {
          long key = ((long) (POSITIVE_INFINITY_BITS - Float.floatToIntBits(score)) << 32) | r;
          if (key < bar) {
            keys[size++] = key;
          }
        }
      }
      return size;
    }

    /**
     * Drops the candidates whose score so far plus {@code rest} (the bounds of the terms still to
     * add) stays below {@code below} with room for rounding, clearing their scores and bits; keeps
     * the others' order. Returns how many are kept.
     */
    private int dropHopeless(double[] acc, long[] bits, int[] cand, int found, double rest, double below) {
      int kept = 0;
      for (int c = 0; c < found; c++) { // no branch
        int j = cand[c];
        double a = acc[j];
        boolean keep = (a + rest) * ROUNDING >= below;
        acc[j] = keep ? a : 0;
        bits[j >>> 6] &= keep ? -1L : ~(1L << j);
        cand[kept] = j;
        kept += keep ? 1 : 0;
      }
      return kept;
    }

    /**
     * dropHopeless, then each kept candidate's part of a term by doc number ({@code dense}, 0 where
     * the term is absent: the score stays as it is), times the scale, in the same pass.
     */
    private int dropHopelessAddDense(
        double[] acc, long[] bits, int[] cand, int found, double rest, double below, float[] dense, int lo, float scale) {
      int kept = 0;
      for (int c = 0; c < found; c++) { // no branch
        int j = cand[c];
        double a = acc[j];
        boolean keep = (a + rest) * ROUNDING >= below;
        acc[j] = keep ? a + dense[lo + j] * scale : 0;
        bits[j >>> 6] &= keep ? -1L : ~(1L << j);
        cand[kept] = j;
        kept += keep ? 1 : 0;
      }
      return kept;
    }

    /** Adds precomputed parts of postings [from, to), times the scale, to the candidates (their bits set) alone. */
    private void addToCandidates(
        double[] acc, long[] bits, int lo, int[] docs, float[] parts, float scale, int from, int to) {
      for (int i = from; i < to; i++) {
        int j = docs[i] - lo;
        // no branch: a document not a candidate adds 0 (its score stays 0)
        acc[j] += parts[i] * scale * (double) ((bits[j >>> 6] >>> j) & 1L);
      }
    }

    /** addParts, each document also marked a candidate. */
    private void markParts(double[] acc, long[] bits, int lo, int[] docs, float[] parts, float scale, int from, int to) {
      for (int i = from; i < to; i++) {
        int j = docs[i] - lo;
        acc[j] += parts[i] * scale;
        bits[j >>> 6] |= 1L << j;
      }
    }

    /** addWeighted, each document also marked a candidate. */
    private void markWeighted(
        double[] acc, long[] bits, int lo, int[] docs, byte[] freqs, int from, int to, float weight, byte[] norms, float[] cache) {
      for (int i = from; i < to; i++) {
        int doc = docs[i];
        int j = doc - lo;
        acc[j] += weight - weight / (1f + (freqs[i] & 0xFF) * cache[norms[doc] & 0xFF]);
        bits[j >>> 6] |= 1L << j;
      }
    }

    private void markWeighted(
        double[] acc, long[] bits, int lo, int[] docs, int[] freqs, int from, int to, float weight, byte[] norms, float[] cache) {
      for (int i = from; i < to; i++) {
        int doc = docs[i];
        int j = doc - lo;
        acc[j] += weight - weight / (1f + freqs[i] * cache[norms[doc] & 0xFF]);
        bits[j >>> 6] |= 1L << j;
      }
    }

    /** Posting i's part: precomputed (weight NaN) times the scale, or computed as Lucene does. */
    private float part(Postings p, int i, float weight, float scale, byte[] norms, float[] cache) {
      if (weight != weight) {
        return p.unitParts[i] * scale;
      }
      return weight - weight / (1f + p.freq(i) * cache[norms[p.docs[i]] & 0xFF]);
    }


    /** Adds a term's precomputed parts of postings [from, to), times the scale, into the block's scores. */
    private void addParts(double[] acc, int lo, int[] docs, float[] parts, float scale, int from, int to) {
      for (int i = from; i < to; i++) {
        acc[docs[i] - lo] += parts[i] * scale;
      }
    }

    /** Adds a term's parts of postings [from, to) into the block's scores, computed as Lucene does. */
    private void addWeighted(
        double[] acc, int lo, int[] docs, byte[] freqs, int from, int to, float weight, byte[] norms, float[] cache) {
      for (int i = from; i < to; i++) {
        int doc = docs[i];
        acc[doc - lo] += weight - weight / (1f + (freqs[i] & 0xFF) * cache[norms[doc] & 0xFF]);
      }
    }

    private void addWeighted(
        double[] acc, int lo, int[] docs, int[] freqs, int from, int to, float weight, byte[] norms, float[] cache) {
      for (int i = from; i < to; i++) {
        int doc = docs[i];
        acc[doc - lo] += weight - weight / (1f + freqs[i] * cache[norms[doc] & 0xFF]);
      }
    }

    /** Offers the block's documents to the heap of k (its root the worst), clearing their scores. */
    private void offerBlock(double[] acc, int lo, int len, int k, int[] rank) {
      float rootScore = heapScores[0];
      int rootRank = heapRanks[0];
      for (int j = 0; j < len; j++) {
        double a = acc[j];
        // a double below the root's score rounds to a float at most equal to it: only a document
        // at or above it needs the exact test
        if (a >= rootScore) {
          float score = (float) a;
          int r = rank[lo + j];
          if (score > rootScore || (score == rootScore && r < rootRank)) {
            heapDocs[0] = lo + j;
            heapScores[0] = score;
            heapRanks[0] = r;
            siftDownRanked(0, k);
            rootScore = heapScores[0];
            rootRank = heapRanks[0];
          }
        }
      }
      java.util.Arrays.fill(acc, 0, len, 0d); // one pass, vectorised
    }

    /** Appends the sort keys of the block's matched documents below the bar, clearing their scores. */
    private int keyBlock(double[] acc, int lo, int len, int size, int[] rank) {
      long[] out = keys;
      long limit = bar;
      for (int j = 0; j < len; j++) {
        double a = acc[j];
        acc[j] = 0;
        long key = ((long) (POSITIVE_INFINITY_BITS - Float.floatToIntBits((float) a)) << 32) | rank[lo + j];
        out[size] = key;
        size += a != 0 && key < limit ? 1 : 0;
      }
      return size;
    }

    /** Heap sift on (score, rank) pairs kept beside the docs (sentinels have rank -1). */
    private void siftDownRanked(int i, int size) {
      while (true) {
        int child = 2 * i + 1;
        if (child >= size) {
          return;
        }
        if (child + 1 < size && worseRanked(child + 1, child)) {
          child++;
        }
        if (!worseRanked(child, i)) {
          return;
        }
        float s = heapScores[i];
        heapScores[i] = heapScores[child];
        heapScores[child] = s;
        int d = heapDocs[i];
        heapDocs[i] = heapDocs[child];
        heapDocs[child] = d;
        int r = heapRanks[i];
        heapRanks[i] = heapRanks[child];
        heapRanks[child] = r;
        i = child;
      }
    }

    /** Whether heap entry i ranks below entry j: lower score, or equal score and a later id. */
    private boolean worseRanked(int i, int j) {
      float si = heapScores[i];
      float sj = heapScores[j];
      return si < sj || (si == sj && heapRanks[i] > heapRanks[j]);
    }

    /**
     * Adds one field's part of every query term into the scores and marks the documents matched (no
     * branch per posting: a first part adds to 0).
     */
    private void add(Field field, Map<String, Integer> counts) throws IOException {
      double[] sums = acc;
      long[] marks = matched;
      float[] cache = field.cache;
      byte[] norms = field.norms;
      TermsEnum[] termsEnums = field.postings == null ? termsEnums(field.name) : null;
      for (Map.Entry<String, Integer> entry : counts.entrySet()) {
        BytesRef term = new BytesRef(entry.getKey());
        Postings inMemory = null;
        long docFreq = 0;
        if (termsEnums == null) {
          inMemory = field.postings.get(term);
          docFreq = inMemory == null ? 0 : inMemory.docFreq;
        } else {
          for (int l = 0; l < leaves.length; l++) {
            TermsEnum te = termsEnums[l];
            found[l] = te != null && te.seekExact(term) ? te : null;
            if (found[l] != null) {
              docFreq += te.docFreq();
            }
          }
        }
        if (docFreq == 0) {
          continue;
        }
        int count = entry.getValue();
        float weight = (float) count * field.idf(docFreq); // boost * idf, the boost being the count
        if (inMemory != null) {
          int[] docs = inMemory.docs;
          byte[] freqs = inMemory.freqs;
          float[] parts = inMemory.unitParts;
          if (count == 1 && parts != null) {
            for (int i = 0; i < docs.length; i++) {
              int doc = docs[i];
              sums[doc] += parts[i];
              marks[doc >>> 6] |= 1L << doc;
            }
          } else if (freqs != null) {
            for (int i = 0; i < docs.length; i++) {
              int doc = docs[i];
              sums[doc] += weight - weight / (1f + (freqs[i] & 0xFF) * cache[norms[doc] & 0xFF]);
              marks[doc >>> 6] |= 1L << doc;
            }
          } else {
            int[] wide = inMemory.wideFreqs;
            for (int i = 0; i < docs.length; i++) {
              int doc = docs[i];
              sums[doc] += weight - weight / (1f + wide[i] * cache[norms[doc] & 0xFF]);
              marks[doc >>> 6] |= 1L << doc;
            }
          }
          continue;
        }
        for (int l = 0; l < leaves.length; l++) {
          if (found[l] == null) {
            continue;
          }
          int base = leaves[l].docBase;
          Bits live = leaves[l].reader().getLiveDocs();
          PostingsEnum pe = found[l].postings(postings, PostingsEnum.FREQS);
          postings = pe;
          for (int d = pe.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = pe.nextDoc()) {
            if (live != null && !live.get(d)) {
              continue;
            }
            int doc = base + d;
            sums[doc] += weight - weight / (1f + pe.freq() * cache[norms[doc] & 0xFF]);
            marks[doc >>> 6] |= 1L << doc;
          }
        }
      }
    }

    private TermsEnum[] termsEnums(String field) throws IOException {
      TermsEnum[] out = enums.get(field);
      if (out == null) {
        out = new TermsEnum[leaves.length];
        for (int l = 0; l < leaves.length; l++) {
          Terms terms = leaves[l].reader().terms(field);
          out[l] = terms == null ? null : terms.iterator();
        }
        enums.put(field, out);
      }
      return out;
    }

    /** The best {@code k} matched documents into the heap (worst at the root), the scores cleared; returns how many. */
    private int select(int k, int[] rank) {
      if (heapDocs.length < k) {
        heapDocs = new int[k];
        heapScores = new float[k];
      }
      int size = 0;
      for (int w = 0; w < matched.length; w++) {
        long word = matched[w];
        if (word == 0) {
          continue;
        }
        matched[w] = 0;
        for (; word != 0; word &= word - 1) {
          int doc = (w << 6) + Long.numberOfTrailingZeros(word);
          float score = (float) acc[doc];
          acc[doc] = 0;
          if (size < k) {
            heapDocs[size] = doc;
            heapScores[size] = score;
            siftUp(size++, rank);
          } else if (k > 0 && (score > heapScores[0] || (score == heapScores[0] && rank[doc] < rank[heapDocs[0]]))) {
            heapDocs[0] = doc;
            heapScores[0] = score;
            siftDown(0, size, rank);
          }
        }
      }
      return size;
    }

    /** Every matched document's sort key into {@code keys} (score descending, then id ascending), the scores cleared; returns how many. */
    private int keys(int[] rank) {
      int count = 0;
      for (int w = 0; w < matched.length; w++) {
        long word = matched[w];
        if (word == 0) {
          continue;
        }
        matched[w] = 0;
        if (keys.length < count + 64) {
          keys = java.util.Arrays.copyOf(keys, Math.max(count + 64, 2 * keys.length));
        }
        for (; word != 0; word &= word - 1) {
          int doc = (w << 6) + Long.numberOfTrailingZeros(word);
          float score = (float) acc[doc];
          acc[doc] = 0;
          if (!(score >= 0)) {
            throw new IllegalStateException("BM25 score " + score + " for document " + doc);
          }
          keys[count++] = ((long) (POSITIVE_INFINITY_BITS - Float.floatToIntBits(score)) << 32) | rank[doc];
        }
      }
      return count;
    }

    /** Whether heap entry i ranks below entry j (lower score, or equal score and a later id). */
    private boolean worse(int i, int j, int[] rank) {
      float si = heapScores[i];
      float sj = heapScores[j];
      return si < sj || (si == sj && rank[heapDocs[i]] > rank[heapDocs[j]]);
    }

    private void siftUp(int i, int[] rank) {
      while (i > 0) {
        int parent = (i - 1) >>> 1;
        if (!worse(i, parent, rank)) {
          return;
        }
        swap(i, parent);
        i = parent;
      }
    }

    private void siftDown(int i, int size, int[] rank) {
      while (true) {
        int child = 2 * i + 1;
        if (child >= size) {
          return;
        }
        if (child + 1 < size && worse(child + 1, child, rank)) {
          child++;
        }
        if (!worse(child, i, rank)) {
          return;
        }
        swap(i, child);
        i = child;
      }
    }

    private void swap(int i, int j) {
      float s = heapScores[i];
      heapScores[i] = heapScores[j];
      heapScores[j] = s;
      int d = heapDocs[i];
      heapDocs[i] = heapDocs[j];
      heapDocs[j] = d;
    }
  }

  /** The query's distinct terms and their counts, as AnalyzerUtils.analyze + BagOfWordsQueryGenerator. */
  private Map<String, Integer> analyze(String text) throws IOException {
    Map<String, Integer> counts = new HashMap<>();
    try (TokenStream stream = analyzer.tokenStream(null, new StringReader(text))) {
      CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
      stream.reset();
      while (stream.incrementToken()) {
        if (term.length() > 0) {
          counts.merge(term.toString(), 1, Integer::sum);
        }
      }
      stream.end();
    }
    return counts;
  }

  /** The first index from {@code from} on whose value in ascending {@code a} is at least {@code key}. */
  static int gallop(int[] a, int from, int key) {
    int n = a.length;
    if (from >= n || a[from] >= key) {
      return from;
    }
    int step = 1;
    int lo = from; // a[lo] < key
    int hi = from + 1;
    while (hi < n && a[hi] < key) {
      lo = hi;
      step <<= 1;
      hi = lo + step;
    }
    return lowerBound(a, lo + 1, Math.min(hi, n), key);
  }

  /** The first index in {@code a[from..to)} (ascending) whose value is at least {@code key}. */
  static int lowerBound(int[] a, int from, int to, int key) {
    int lo = from;
    int hi = to;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (a[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** Moves the {@code k} smallest of {@code a[0..n)} (all distinct) into {@code a[0..k)}: Wirth's selection. */
  static void selectSmallest(long[] a, int n, int k) {
    int target = k - 1;
    int lo = 0;
    int hi = n - 1;
    while (lo < hi) {
      long pivot = a[target];
      int i = lo;
      int j = hi;
      do {
        while (a[i] < pivot) {
          i++;
        }
        while (pivot < a[j]) {
          j--;
        }
        if (i <= j) {
          long t = a[i];
          a[i] = a[j];
          a[j] = t;
          i++;
          j--;
        }
      } while (i <= j);
      if (j < target) {
        lo = i;
      }
      if (target < i) {
        hi = j;
      }
    }
  }

  /** io.anserini.rerank.lib.ScoreTiesAdjusterReranker.rerank, on one query's scores in rank order. */
  static void adjustTies(float[] scores) {
    int dup = 0;
    for (int i = 0; i < scores.length; i++) {
      scores[i] = (float) (Math.round(scores[i] * 1e4d) / 1e4d);
      if (i == 0 || scores[i - 1] - scores[i] > 1e-4f) {
        dup = 0;
      } else {
        dup++;
        scores[i] -= 1e-6f * dup;
      }
    }
  }

  private static List<String> splitLines(byte[] utf8) {
    List<String> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < utf8.length; i++) {
      if (utf8[i] == '\n') {
        lines.add(new String(utf8, start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    if (start != utf8.length) {
      throw new IllegalArgumentException("the query block must end with a newline");
    }
    return lines;
  }
}
