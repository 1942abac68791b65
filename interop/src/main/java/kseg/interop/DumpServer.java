package kseg.interop;

import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;

/**
 * Runs Kafka's DumpLogSegments many times in ONE JVM.
 *
 * Usage: DumpServer MAIN_CLASS OUT_DIR < requests
 *
 * Each request line is {@code ID<TAB>arg<TAB>arg...}. For each, the tool's main is called in-process
 * with System.out / System.err (and Scala's Console.out / Console.err, which the Scala tool of
 * Kafka <= 4.1 prints to) captured as UTF-8 (what the shell script prints under a UTF-8 locale),
 * and OUT_DIR/ID.out, ID.err, ID.rc are written. Exit.exit/halt are overridden to throw, so the
 * tool's {@code Exit.exit(status)} does not end this JVM; the status becomes ID.rc. Exit is
 * o.a.k.common.utils.Exit up to 4.3 and o.a.k.common.utils.internals.Exit from 4.4; the class
 * only touches Kafka through reflection, so it runs on the classpath of any Kafka 4.x version.
 * An exception out of main is printed as the JVM would ("Exception in thread "main" ...", rc 1). One line "done ID" is printed on stdout per request.
 */
public final class DumpServer {
    static final class ExitCalled extends RuntimeException {
        final int status;

        ExitCalled(int status) {
            super("exit " + status, null, false, false);
            this.status = status;
        }
    }

    public static void main(String[] args) throws Exception {
        String mainClass = args[0];
        Path outDir = Paths.get(args[1]);
        Files.createDirectories(outDir);
        Method main = Class.forName(mainClass).getMethod("main", String[].class);
        overrideExit();
        ScalaConsole scala = ScalaConsole.find();

        PrintStream realOut = System.out;
        PrintStream realErr = System.err;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            String[] parts = line.split("\t", -1);
            String id = parts[0];
            String[] toolArgs = Arrays.copyOfRange(parts, 1, parts.length);
            int rc;
            try (OutputStream fo = new FileOutputStream(outDir.resolve(id + ".out").toFile());
                 OutputStream fe = new FileOutputStream(outDir.resolve(id + ".err").toFile());
                 PrintStream po = new PrintStream(new java.io.BufferedOutputStream(fo, 1 << 16), false, StandardCharsets.UTF_8);
                 PrintStream pe = new PrintStream(new java.io.BufferedOutputStream(fe, 1 << 16), false, StandardCharsets.UTF_8)) {
                System.setOut(po);
                System.setErr(pe);
                try {
                    rc = scala.run(po, pe, () -> invoke(main, toolArgs, pe));
                } finally {
                    po.flush();
                    pe.flush();
                    System.setOut(realOut);
                    System.setErr(realErr);
                }
            }
            Files.write(outDir.resolve(id + ".rc"), (rc + "\n").getBytes(StandardCharsets.UTF_8));
            realOut.println("done " + id);
            realOut.flush();
        }
    }

    /** Makes Exit.exit / Exit.halt throw ExitCalled, in whichever Exit classes this version has. */
    static void overrideExit() throws ReflectiveOperationException {
        int found = 0;
        for (String name : new String[] {"org.apache.kafka.common.utils.internals.Exit", "org.apache.kafka.common.utils.Exit"}) {
            Class<?> exit;
            try {
                exit = Class.forName(name);
            } catch (ClassNotFoundException e) {
                continue;
            }
            Class<?> proc = Class.forName(name + "$Procedure");
            Object thrower = java.lang.reflect.Proxy.newProxyInstance(proc.getClassLoader(), new Class<?>[] {proc},
                (proxy, m, a) -> {
                    if (m.getName().equals("execute")) throw new ExitCalled((Integer) a[0]);
                    if (m.getName().equals("hashCode")) return System.identityHashCode(proxy);
                    if (m.getName().equals("equals")) return proxy == a[0];
                    return "exit-thrower";
                });
            exit.getMethod("setExitProcedure", proc).invoke(null, thrower);
            exit.getMethod("setHaltProcedure", proc).invoke(null, thrower);
            found++;
        }
        if (found == 0) throw new IllegalStateException("no Kafka Exit class on the classpath");
    }

    /** Calls main; returns the exit status (0 if main returns normally). */
    static int invoke(Method main, String[] toolArgs, PrintStream err) {
        try {
            main.invoke(null, (Object) toolArgs);
            return 0;
        } catch (InvocationTargetException e) {
            Throwable c = e.getCause();
            if (c instanceof ExitCalled) return ((ExitCalled) c).status;
            // What the JVM's default handler would print for an uncaught exception from main.
            err.print("Exception in thread \"main\" ");
            c.printStackTrace(err);
            return 1;
        } catch (ExitCalled e) {
            return e.status;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    interface Body {
        int run();
    }

    /** Scala's Console.out is a DynamicVariable, not System.out: redirect it with withOut/withErr. */
    static final class ScalaConsole {
        final Method withOut;
        final Method withErr;
        final Class<?> function0;

        ScalaConsole(Method withOut, Method withErr, Class<?> function0) {
            this.withOut = withOut;
            this.withErr = withErr;
            this.function0 = function0;
        }

        static ScalaConsole find() {
            try {
                Class<?> console = Class.forName("scala.Console");
                Class<?> f0 = Class.forName("scala.Function0");
                return new ScalaConsole(console.getMethod("withOut", PrintStream.class, f0),
                    console.getMethod("withErr", PrintStream.class, f0), f0);
            } catch (ReflectiveOperationException e) {
                return new ScalaConsole(null, null, null);
            }
        }

        Object thunk(java.util.function.Supplier<Object> s) {
            return java.lang.reflect.Proxy.newProxyInstance(function0.getClassLoader(), new Class<?>[] {function0},
                (proxy, m, a) -> {
                    switch (m.getName()) {
                        case "apply": return s.get();
                        case "toString": return "<thunk>";
                        case "hashCode": return System.identityHashCode(proxy);
                        case "equals": return proxy == a[0];
                        default: throw new UnsupportedOperationException(m.getName());
                    }
                });
        }

        int run(PrintStream out, PrintStream err, Body body) {
            if (withOut == null) return body.run();
            int[] rc = new int[1];
            Object inner = thunk(() -> {
                rc[0] = body.run();
                return null;
            });
            Object outer = thunk(() -> {
                try {
                    return withErr.invoke(null, err, inner);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            });
            try {
                withOut.invoke(null, out, outer);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            return rc[0];
        }
    }

    private DumpServer() { }
}
