import java.io.File;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;

/**
 * In-process A/B of retrieval.lucene.BatchSearch builds (bench/bm25_jar_ab.py): each jar in a class
 * loader of its own over one index, the same query block searched by each in turn, round by round
 * (the order reversed every other round), after 5 untimed rounds. Prints, per k, each jar's median
 * milliseconds per batch, its speed-up over the first jar, and whether its packed hits differ from
 * the first jar's (they must not).
 *
 * <p>Arguments: index queries-file rounds k[,k...] threads jar [jar ...]
 */
public final class JarAB {
  public static void main(String[] a) throws Exception {
    String index = a[0];
    byte[] queries = Files.readAllBytes(Paths.get(a[1]));
    int rounds = Integer.parseInt(a[2]);
    int[] ks = Arrays.stream(a[3].split(",")).mapToInt(Integer::parseInt).toArray();
    int threads = Integer.parseInt(a[4]);
    int n = a.length - 5;
    Object[] searchers = new Object[n];
    Method[] search = new Method[n];
    for (int i = 0; i < n; i++) {
      URL jar = new File(a[5 + i]).toURI().toURL();
      URLClassLoader loader = new URLClassLoader(new URL[] {jar}, JarAB.class.getClassLoader());
      Class<?> c = Class.forName("retrieval.lucene.BatchSearch", true, loader);
      searchers[i] = c.getConstructor(String.class, float.class, float.class).newInstance(index, 0.9f, 0.4f);
      search[i] = c.getMethod("search", byte[].class, String[].class, float[].class, int.class, int.class);
    }
    String[] fields = new String[0];
    float[] boosts = new float[0];
    for (int k : ks) {
      long[][] nanos = new long[n][rounds];
      byte[][] out = new byte[n][];
      for (int w = 0; w < 5; w++) {
        for (int i = 0; i < n; i++) {
          out[i] = (byte[]) search[i].invoke(searchers[i], queries, fields, boosts, k, threads);
        }
      }
      for (int r = 0; r < rounds; r++) {
        for (int turn = 0; turn < n; turn++) {
          int i = r % 2 == 0 ? turn : n - 1 - turn;
          long t0 = System.nanoTime();
          out[i] = (byte[]) search[i].invoke(searchers[i], queries, fields, boosts, k, threads);
          nanos[i][r] = System.nanoTime() - t0;
        }
      }
      StringBuilder line = new StringBuilder("k=" + k);
      double first = 0;
      for (int i = 0; i < n; i++) {
        long[] sorted = nanos[i].clone();
        Arrays.sort(sorted);
        double ms = sorted[rounds / 2] / 1e6;
        first = i == 0 ? ms : first;
        line.append(String.format("  %s %.1f ms (%.2fx)%s", a[5 + i], ms, first / ms, Arrays.equals(out[i], out[0]) ? "" : " DIFFERENT HITS"));
      }
      System.out.println(line);
    }
    System.exit(0);
  }
}
