/*
 * Batch BM25 search for retrieval/bm25.py: the ranking of Anserini 1.7.1's SearchCollection, with
 * hits handed back as Lucene doc numbers instead of loaded stored documents.
 *
 * SearchCollection spends most of its time per hit outside Lucene: ScoredDocs.fromTopDocs loads each
 * hit's stored document to read its id, and the TREC line is formatted, written and parsed again.
 * Here the hits leave Java as three packed arrays (per-query counts, doc numbers, scores) in one
 * byte[]; Python maps doc numbers to ids with one table read once per index (ids()).
 *
 * Kept identical to SearchCollection (-bm25 -bm25.k1 K1 -bm25.b B [-fields ...]), line for line:
 *  - the analyzer: DefaultEnglishAnalyzer.fromArguments("porter", false, null);
 *  - the query: io.anserini.search.query.BagOfWordsQueryGenerator.buildQuery, with the fields in a
 *    HashMap filled in -fields order (as SearchCollection's Args.fieldsMap);
 *  - the similarity: Lucene's BM25Similarity(k1, b) on a fresh IndexSearcher(reader);
 *  - the sort: score, then the id doc values (SearchCollection.BREAK_SCORE_TIES_BY_DOCID), doDocScores;
 *  - the scores: ScoreTiesAdjusterReranker (rounded to 1e-4, ties nudged down by 1e-6 each).
 * The Anserini classes are reached by reflection: they are compiled for Java 21 and this file
 * compiles with javac 11+ against Lucene's classes only (see retrieval/java/build.py).
 */
package retrieval.lucene;

import java.io.ByteArrayOutputStream;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;

public final class BatchSearch {
  /** Anserini's Constants.ID: the stored and doc-values field holding the collection's docid. */
  public static final String ID = "id";

  public static final String CONTENTS = "contents";

  /** SearchCollection.BREAK_SCORE_TIES_BY_DOCID. */
  private static final Sort BY_SCORE_THEN_ID =
      new Sort(SortField.FIELD_SCORE, new SortField(ID, SortField.Type.STRING_VAL));

  private final IndexSearcher searcher;
  private final Analyzer analyzer;
  private final Object generator;
  private final Method buildField;
  private final Method buildFields;

  /** Opens the index at {@code path} for BM25(k1, b) search, as SearchCollection does. */
  public BatchSearch(String path, float k1, float b) throws Exception {
    IndexReader reader = DirectoryReader.open(FSDirectory.open(Paths.get(path)));
    searcher = new IndexSearcher(reader);
    searcher.setSimilarity(new BM25Similarity(k1, b));
    Class<?> analyzers = Class.forName("io.anserini.analysis.DefaultEnglishAnalyzer");
    analyzer =
        (Analyzer)
            analyzers
                .getMethod("fromArguments", String.class, boolean.class, String.class)
                .invoke(null, "porter", false, null);
    Class<?> generators = Class.forName("io.anserini.search.query.BagOfWordsQueryGenerator");
    generator = generators.getConstructor().newInstance();
    buildField = generators.getMethod("buildQuery", String.class, Analyzer.class, String.class);
    buildFields = generators.getMethod("buildQuery", Map.class, Analyzer.class, String.class);
  }

  public int maxDoc() {
    return searcher.getIndexReader().maxDoc();
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
    ByteArrayOutputStream out = new ByteArrayOutputStream(maxDoc() * 12);
    for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
      LeafReader reader = leaf.reader();
      BinaryDocValues values = reader.getBinaryDocValues(ID);
      Bits live = reader.getLiveDocs();
      for (int doc = 0; doc < reader.maxDoc(); doc++) {
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
   * Searches every query, {@code threads} at a time, keeping the top {@code hits} of each.
   *
   * @param queries UTF-8 query texts, each followed by '\n' (the caller has collapsed whitespace)
   * @param fields the fields to search with their boosts, in -fields order; empty: "contents" only
   * @return little-endian: int32 count per query, then int32 doc numbers, then float32 scores
   */
  public byte[] search(byte[] queries, String[] fields, float[] boosts, int hits, int threads) throws Exception {
    List<String> texts = splitLines(queries);
    Map<String, Float> fieldMap = new HashMap<>();
    for (int i = 0; i < fields.length; i++) {
      fieldMap.put(fields[i], boosts[i]);
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    List<Future<TopDocs>> pending = new ArrayList<>(texts.size());
    try {
      for (String text : texts) {
        pending.add(pool.submit(() -> searcher.search(query(text, fieldMap), hits, BY_SCORE_THEN_ID, true)));
      }
      int total = 0;
      List<TopDocs> results = new ArrayList<>(texts.size());
      for (Future<TopDocs> future : pending) {
        TopDocs top = future.get();
        results.add(top);
        total += top.scoreDocs.length;
      }
      ByteBuffer out = ByteBuffer.allocate(4 * (texts.size() + 2 * total)).order(ByteOrder.LITTLE_ENDIAN);
      for (TopDocs top : results) {
        out.putInt(top.scoreDocs.length);
      }
      for (TopDocs top : results) {
        for (ScoreDoc hit : top.scoreDocs) {
          out.putInt(hit.doc);
        }
      }
      for (TopDocs top : results) {
        for (float score : adjustTies(top.scoreDocs)) {
          out.putFloat(score);
        }
      }
      return out.array();
    } finally {
      pool.shutdownNow();
    }
  }

  private Query query(String text, Map<String, Float> fieldMap) throws Exception {
    if (fieldMap.isEmpty()) {
      return (Query) buildField.invoke(generator, CONTENTS, analyzer, text);
    }
    return (Query) buildFields.invoke(generator, fieldMap, analyzer, text);
  }

  /** io.anserini.rerank.lib.ScoreTiesAdjusterReranker.rerank, on one query's hits in rank order. */
  static float[] adjustTies(ScoreDoc[] hits) {
    float[] scores = new float[hits.length];
    int dup = 0;
    for (int i = 0; i < hits.length; i++) {
      scores[i] = (float) (Math.round(hits[i].score * 1e4d) / 1e4d);
      if (i == 0 || scores[i - 1] - scores[i] > 1e-4f) {
        dup = 0;
      } else {
        dup++;
        scores[i] -= 1e-6f * dup;
      }
    }
    return scores;
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
