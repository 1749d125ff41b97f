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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
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

  private static final int POSITIVE_INFINITY_BITS = Float.floatToIntBits(Float.POSITIVE_INFINITY);

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
    final int[][] docs = new int[n][];
    final float[][] scores = new float[n][];
    final int[] order = idRank();
    // Queries are taken 8 at a time by this thread and up to threads - 1 pool threads; each result
    // lands in its query's slot, so the output order never depends on the threads.
    final AtomicInteger next = new AtomicInteger();
    final int workers = Math.max(1, Math.min(threads, (n + 7) / 8));
    Callable<Void> drain =
        () -> {
          Workspace ws = workspace();
          try {
            for (int start = next.getAndAdd(8); start < n; start = next.getAndAdd(8)) {
              for (int i = start; i < Math.min(n, start + 8); i++) {
                ws.search(texts.get(i), searched, k, order, docs, scores, i);
              }
            }
          } finally {
            idle.add(ws);
          }
          return null;
        };
    List<Future<Void>> pending = new ArrayList<>(workers - 1);
    if (workers > 1) {
      ExecutorService executor = executor(workers - 1);
      for (int w = 1; w < workers; w++) {
        pending.add(executor.submit(drain));
      }
    }
    try {
      drain.call();
    } finally {
      for (Future<Void> future : pending) {
        try {
          future.get();
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          throw cause instanceof Exception ? (Exception) cause : e;
        }
      }
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
   * once, and, where they fit in half the free heap (about 5 bytes a posting), every term's postings
   * (doc numbers and frequencies) in arrays; otherwise each search reads them from the index.
   */
  private final class Field {
    final String name;
    final long docCount;
    final float[] cache = new float[256];
    final byte[] norms;
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
      Runtime runtime = Runtime.getRuntime();
      long free = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
      long needed = 5 * sumDocFreq + 120 * termCount;
      boolean allowed = !"false".equals(System.getProperty(IN_MEMORY_PROPERTY));
      postings = allowed && needed < free / 2 ? load() : null;
    }

    private Map<BytesRef, Postings> load() throws IOException {
      Map<BytesRef, Postings> out = new HashMap<>();
      PostingsEnum pe = null;
      for (LeafReaderContext leaf : leaves) {
        Terms terms = leaf.reader().terms(name);
        if (terms == null) {
          continue;
        }
        TermsEnum te = terms.iterator();
        for (BytesRef term = te.next(); term != null; term = te.next()) {
          int docFreq = te.docFreq();
          int[] docs = new int[docFreq];
          int[] freqs = new int[docFreq];
          int n = 0;
          int maxFreq = 0;
          pe = te.postings(pe, PostingsEnum.FREQS);
          for (int d = pe.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = pe.nextDoc()) {
            if (n == docs.length) { // deleted documents still count in docFreq; live ones never exceed it
              docs = java.util.Arrays.copyOf(docs, 2 * n + 1);
              freqs = java.util.Arrays.copyOf(freqs, 2 * n + 1);
            }
            docs[n] = leaf.docBase + d;
            freqs[n] = pe.freq();
            maxFreq = Math.max(maxFreq, freqs[n]);
            n++;
          }
          Postings next = new Postings(docFreq, java.util.Arrays.copyOf(docs, n), java.util.Arrays.copyOf(freqs, n), maxFreq);
          BytesRef key = BytesRef.deepCopyOf(term);
          Postings before = out.get(key);
          out.put(key, before == null ? next : before.append(next));
        }
      }
      return out;
    }
  }

  /** One term's postings in one field, over all segments: doc numbers ascending and their frequencies. */
  private static final class Postings {
    final long docFreq;
    final int[] docs;
    final byte[] freqs; // unsigned; null when a frequency exceeds 255 (then wideFreqs)
    final int[] wideFreqs;

    Postings(long docFreq, int[] docs, int[] freqs, int maxFreq) {
      this.docFreq = docFreq;
      this.docs = docs;
      if (maxFreq <= 255) {
        this.freqs = new byte[freqs.length];
        for (int i = 0; i < freqs.length; i++) {
          this.freqs[i] = (byte) freqs[i];
        }
        this.wideFreqs = null;
      } else {
        this.freqs = null;
        this.wideFreqs = freqs;
      }
    }

    int freq(int i) {
      return freqs != null ? freqs[i] & 0xFF : wideFreqs[i];
    }

    Postings append(Postings next) {
      int n = docs.length;
      int[] allDocs = java.util.Arrays.copyOf(docs, n + next.docs.length);
      int[] allFreqs = new int[allDocs.length];
      int maxFreq = 0;
      for (int i = 0; i < allDocs.length; i++) {
        allFreqs[i] = i < n ? freq(i) : next.freq(i - n);
        maxFreq = Math.max(maxFreq, allFreqs[i]);
      }
      System.arraycopy(next.docs, 0, allDocs, n, next.docs.length);
      return new Postings(docFreq + next.docFreq, allDocs, allFreqs, maxFreq);
    }
  }

  /**
   * One thread's scratch space: a score per document and a bit per document matched, both cleared
   * as the hits are read out, so a query costs its postings plus one pass over the bit words.
   */
  private final class Workspace {
    final double[] acc = new double[maxDoc];
    final long[] matched = new long[(maxDoc + 63) >>> 6];
    final Map<String, TermsEnum[]> enums = new HashMap<>();
    final TermsEnum[] found = new TermsEnum[leaves.length];
    PostingsEnum postings;
    long[] keys = new long[64];
    float[] heapScores = new float[16];
    int[] heapDocs = new int[16];

    void search(
        String text, Field[] fields, int k, int[] rank, int[][] docsOut, float[][] scoresOut, int slot)
        throws IOException {
      Map<String, Integer> counts = analyze(text);
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
        int count = keys(rank);
        int size = Math.min(k, count);
        if (size < count) {
          selectSmallest(keys, count, size);
        }
        java.util.Arrays.sort(keys, 0, size);
        docs = new int[size];
        scores = new float[size];
        int[] byRank = docByRank;
        for (int i = 0; i < size; i++) {
          docs[i] = byRank[(int) keys[i]];
          scores[i] = Float.intBitsToFloat(POSITIVE_INFINITY_BITS - (int) (keys[i] >>> 32));
        }
      }
      adjustTies(scores);
      docsOut[slot] = docs;
      scoresOut[slot] = scores;
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
        float idf = (float) Math.log(1 + (field.docCount - docFreq + 0.5D) / (docFreq + 0.5D));
        float weight = (float) entry.getValue() * idf; // boost * idf, the boost being the count
        if (inMemory != null) {
          int[] docs = inMemory.docs;
          byte[] freqs = inMemory.freqs;
          if (freqs != null) {
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
          PostingsEnum pe = found[l].postings(postings, PostingsEnum.FREQS);
          postings = pe;
          for (int d = pe.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = pe.nextDoc()) {
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
