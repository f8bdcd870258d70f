import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.tools.FileObject;
import javax.tools.ForwardingJavaFileManager;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileManager;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;

/**
 * CodeCell warm JVM launcher (guest/SPEC.md 3.6). Started ahead of a run as
 * {@code java <flags> -cp /usr/lib/codecell/java CodecellLauncher [--prime javac|run]},
 * in the run's cgroup, as the run's user, with the run's stdio. It primes
 * (loads and runs the classes the stage will need, without touching a file),
 * then blocks until the agent writes the rest of the stage's argv on fd 3
 * (NUL-separated): either {@code -m <module>/<class> args...} or
 * {@code -cp <path> <class> args...}, and runs that main class as the java
 * launcher would.
 */
public final class CodecellLauncher {
  private CodecellLauncher() {}

  public static void main(String[] args) throws Throwable {
    if (args.length == 2 && args[0].equals("--prime")) prime(args[1]);
    signalReady();
    List<String> rest = readRequest();
    if (rest.isEmpty()) System.exit(0); // never used: the agent discarded this process
    Class<?> main;
    List<String> programArgs;
    if (rest.get(0).equals("-m") && rest.size() >= 2) {
      String[] moduleClass = rest.get(1).split("/", 2);
      main = Class.forName(ModuleLayer.boot().findModule(moduleClass[0]).orElseThrow(), moduleClass[1]);
      programArgs = rest.subList(2, rest.size());
    } else if ((rest.get(0).equals("-cp") || rest.get(0).equals("-classpath")) && rest.size() >= 3) {
      List<URL> urls = new ArrayList<>();
      for (String p : rest.get(1).split(":")) urls.add(Paths.get(p).toUri().toURL());
      System.setProperty("java.class.path", rest.get(1));
      ClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), ClassLoader.getSystemClassLoader());
      Thread.currentThread().setContextClassLoader(loader);
      main = Class.forName(rest.get(2), true, loader);
      programArgs = rest.subList(3, rest.size());
    } else {
      System.err.println("codecell: unsupported warm java arguments: " + rest);
      System.exit(126);
      return;
    }
    Method m = main.getMethod("main", String[].class);
    try {
      m.invoke(null, (Object) programArgs.toArray(new String[0]));
    } catch (InvocationTargetException e) {
      // Reported by the JVM as an uncaught exception of "main", minus our own frames.
      Throwable cause = e.getCause();
      StackTraceElement[] trace = cause.getStackTrace();
      int keep = trace.length;
      for (int i = 0; i < trace.length; i++) {
        String c = trace[i].getClassName();
        if (c.startsWith("jdk.internal.reflect.") || c.equals("java.lang.reflect.Method")) {
          keep = i;
          break;
        }
      }
      cause.setStackTrace(Arrays.copyOf(trace, keep));
      throw cause;
    }
  }

  /** Primed: one byte on fd 4 tells the agent this process can take the request. */
  private static void signalReady() {
    try (OutputStream out = new FileOutputStream("/proc/self/fd/4")) {
      out.write('r');
    } catch (Exception e) {
      // started by hand, without the agent's pipes
    }
  }

  private static List<String> readRequest() throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    // A plain read loop: FileInputStream.readAllBytes seeks, which a pipe cannot.
    try (InputStream in = new FileInputStream("/proc/self/fd/3")) {
      byte[] chunk = new byte[65536];
      for (int n = in.read(chunk); n > 0; n = in.read(chunk)) buf.write(chunk, 0, n);
    }
    byte[] data = buf.toByteArray();
    List<String> out = new ArrayList<>();
    if (data.length == 0) return out;
    out.addAll(Arrays.asList(new String(data, StandardCharsets.UTF_8).split("\0", -1)));
    return out;
  }

  private static void prime(String kind) throws Exception {
    if (kind.equals("javac")) primeJavac();
    // Classes nearly every program uses.
    String s = String.format("%d %s %.2f", 42, "x", 1.5) + new StringBuilder("y").reverse();
    new java.util.Scanner(new java.io.ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8))).nextLine();
    new java.util.HashMap<String, List<Integer>>().computeIfAbsent(s, k -> new ArrayList<>()).add(1);
  }

  /** Compiles a small class in memory: javac's classes are loaded and its code compiled by the JIT. */
  private static void primeJavac() throws Exception {
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    String src = "import java.util.*;\npublic class Prime { public static void main(String[] a) { List<String> l = new ArrayList<>(); "
        + "for (String s : a) l.add(s.trim()); System.out.println(String.join(\",\", l) + Math.max(1, 2)); } }\n";
    JavaFileObject source = new SimpleJavaFileObject(URI.create("string:///Prime.java"), JavaFileObject.Kind.SOURCE) {
      @Override
      public CharSequence getCharContent(boolean ignoreEncodingErrors) {
        return src;
      }
    };
    JavaFileManager files = new ForwardingJavaFileManager<JavaFileManager>(javac.getStandardFileManager(null, null, StandardCharsets.UTF_8)) {
      @Override
      public JavaFileObject getJavaFileForOutput(Location location, String className, JavaFileObject.Kind kind, FileObject sibling) {
        return new SimpleJavaFileObject(URI.create("mem:///" + className + kind.extension), kind) {
          @Override
          public OutputStream openOutputStream() {
            return new ByteArrayOutputStream();
          }
        };
      }
    };
    javac.getTask(new PrintWriter(OutputStream.nullOutputStream()), files, null, null, null, List.of(source)).call();
  }
}
