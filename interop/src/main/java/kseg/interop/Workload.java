package kseg.interop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The workload the interop suite writes through a real broker.
 *
 * Usage: Workload BOOTSTRAP topics|main|hang|crash|freeze|goldens, or Workload BOOTSTRAP churn SECONDS
 *
 * topics creates the topics (before hang and main).
 * main   every kind of record and topic the suite compares (see interop/README.md), then returns.
 * hang   a transactional producer that commits one transaction, opens a second one, flushes it,
 *        prints READY and sleeps: run.sh kills it with -9, leaving a hanging transaction.
 * crash  writes without end (codecs, transactions, compacted keys) until the broker is killed.
 * freeze stops what could change the logs while the oracle reads them (retention, cleaner).
 * goldens a small workload for testdata/broker (make-goldens.sh): few, small records.
 * churn  its own topics, on a broker of their own (run.sh's churn phase): writes for SECONDS at a
 *        limited rate so that segments roll, retention deletes and the cleaner swaps files all
 *        the time while kseg's live loop reads the directory; then closes its producers cleanly.
 */
public final class Workload {
    static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};
    static final long T0 = 1_700_000_000_000L;

    final String bootstrap;
    final Admin admin;

    Workload(String bootstrap) {
        this.bootstrap = bootstrap;
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        this.admin = Admin.create(p);
    }

    public static void main(String[] args) {
        int rc = 0;
        try {
            run(args);
        } catch (Throwable e) {
            e.printStackTrace();
            rc = 1;
        }
        System.exit(rc); // also ends the writer threads of a failed workload
    }

    static void run(String[] args) throws Exception {
        Workload w = new Workload(args[0]);
        try {
            switch (args[1]) {
                case "topics" -> w.createTopics();
                case "main" -> w.runMain();
                case "hang" -> w.hang();
                case "crash" -> w.crash();
                case "after-recovery" -> w.afterRecovery();
                case "freeze" -> w.freeze();
                case "goldens" -> w.goldens();
                case "churn" -> w.churn(Integer.parseInt(args[2]));
                default -> throw new IllegalArgumentException(args[1]);
            }
        } finally {
            w.admin.close(Duration.ofSeconds(5));
        }
    }

    static void log(String s) {
        System.out.println("[workload " + (System.currentTimeMillis() / 1000 % 100000) + "] " + s);
        System.out.flush();
    }

    // ---------------------------------------------------------------- topics

    static NewTopic topic(String name, int partitions, String... kv) {
        Map<String, String> cfg = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) cfg.put(kv[i], kv[i + 1]);
        return new NewTopic(name, partitions, (short) 1).configs(cfg);
    }

    void createTopics() throws Exception {
        List<NewTopic> t = new ArrayList<>();
        for (String c : CODECS) {
            // segment.ms counts record time: with explicit timestamps 100 ms apart a segment rolls every ~150 records
            t.add(topic("p-" + c, 2, "compression.type", "producer", "segment.ms", "15000"));
            t.add(topic("t-" + c, 1, "compression.type", c.equals("none") ? "uncompressed" : c));
        }
        t.add(topic("big", 1, "max.message.bytes", String.valueOf(3 << 20), "segment.bytes", String.valueOf(4 << 20)));
        t.add(topic("idem", 2));
        t.add(topic("txn", 3));
        t.add(topic("txn-b", 1, "compression.type", "producer"));
        t.add(topic("hanging", 2));
        t.add(topic("compacted", 2, "cleanup.policy", "compact", "segment.ms", "2500",
            "min.cleanable.dirty.ratio", "0.01", "delete.retention.ms", "3000", "min.compaction.lag.ms", "0",
            "file.delete.delay.ms", "300000"));
        t.add(topic("logappend", 1, "message.timestamp.type", "LogAppendTime"));
        t.add(topic("retention", 1, "retention.ms", "10000", "segment.ms", "2000",
            "file.delete.delay.ms", "300000"));
        t.add(topic("binary", 1));
        admin.createTopics(t).all().get(60, TimeUnit.SECONDS);
        log("created " + t.size() + " topics");
    }

    // ---------------------------------------------------------------- records

    static byte[] text(Random r, int n) {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 {}\":,.-_éü€漢字🙂";
        StringBuilder sb = new StringBuilder();
        while (sb.length() < n) sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        // surrogate pairs may have been split at the end: UTF-8 encode as Java does
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static RecordHeaders headers(Random r, int i) {
        RecordHeaders h = new RecordHeaders();
        if (i % 3 != 0) return h;
        int n = r.nextInt(4);
        for (int k = 0; k < n; k++) {
            switch (k) {
                case 0 -> h.add(new RecordHeader("trace-id", ("t" + i).getBytes(StandardCharsets.UTF_8)));
                case 1 -> h.add(new RecordHeader("", null)); // empty key, null value
                case 2 -> h.add(new RecordHeader("trace-id", new byte[0])); // repeated key, empty value
                default -> { }
            }
        }
        if (i % 9 == 0) h.add(new RecordHeader("bin", new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80, 0, (byte) 0xFF}));
        return h;
    }

    /** A record with the null/empty key/value mix every topic gets. */
    static ProducerRecord<byte[], byte[]> record(String topic, Integer partition, Long ts, Random r, int i, boolean allowNullValue) {
        byte[] key = i % 7 == 0 ? null : i % 11 == 0 ? new byte[0] : ("k" + (i % 500)).getBytes(StandardCharsets.UTF_8);
        byte[] value;
        if (allowNullValue && i % 13 == 0) value = null;
        else if (i % 17 == 0) value = new byte[0];
        else value = text(r, r.nextInt(i % 5 == 0 ? 6000 : 800));
        return new ProducerRecord<>(topic, partition, ts, key, value, headers(r, i));
    }

    Properties producerProps(String codec, boolean idempotent) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, "16384");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, String.valueOf(idempotent));
        p.put(ProducerConfig.ACKS_CONFIG, idempotent ? "all" : "1");
        return p;
    }

    KafkaProducer<byte[], byte[]> producer(String codec, boolean idempotent) {
        return new KafkaProducer<>(producerProps(codec, idempotent));
    }

    // ---------------------------------------------------------------- main workload

    void runMain() throws Exception {
        long start = System.currentTimeMillis();
        afterHang();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> jobs = new ArrayList<>();
        jobs.add(pool.submit(this::compacted));
        jobs.add(pool.submit(this::retention));
        jobs.add(pool.submit(() -> { codecs(); return null; }));
        jobs.add(pool.submit(() -> { transactions(); big(); return null; }));
        for (Future<?> f : jobs) f.get(10, TimeUnit.MINUTES);
        idempotent();
        logAppend();
        binary();
        groups();
        metadataChurn();
        admin.deleteRecords(Map.of(new TopicPartition("p-none", 0), RecordsToDelete.beforeOffset(100),
            new TopicPartition("idem", 1), RecordsToDelete.beforeOffset(333))).all().get(30, TimeUnit.SECONDS);
        log("deleteRecords done");
        pool.shutdown();
        log("main workload done in " + (System.currentTimeMillis() - start) + " ms");
    }

    /** Producer-side compression (p-*, two partitions, explicit out-of-order timestamps) and topic-side (t-*). */
    void codecs() throws Exception {
        for (int ci = 0; ci < CODECS.length; ci++) {
            String c = CODECS[ci];
            Random r = new Random(100 + ci);
            boolean idem = ci % 2 == 1;
            try (KafkaProducer<byte[], byte[]> p = producer(c, idem)) {
                long base = T0 + ci * 100_000_000L;
                for (int i = 0; i < 3000; i++) {
                    long ts = base + i * 100L + (r.nextInt(1000) - 500);
                    p.send(record("p-" + c, i % 2, ts, r, i, true));
                    if (i % 400 == 399) p.flush();
                }
            }
            try (KafkaProducer<byte[], byte[]> p = producer("none", true)) {
                for (int i = 0; i < 600; i++) {
                    // current time; every 50th an old explicit one
                    Long ts = i % 50 == 49 ? Long.valueOf(T0 + i) : null;
                    p.send(record("t-" + c, 0, ts, r, i, true));
                }
            }
            log("codec " + c + " done");
        }
    }

    void big() throws Exception {
        Properties props = producerProps("none", true);
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(8 << 20));
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(1 << 20));
        Random r = new Random(7);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(props)) {
            for (int i = 0; i < 6; i++) {
                byte[] v = new byte[(1 << 20) + 1 + r.nextInt(1 << 20)];
                r.nextBytes(v);
                p.send(new ProducerRecord<>("big", 0, null, ("big" + i).getBytes(StandardCharsets.UTF_8), v)).get();
            }
            // a few small ones between and after
            for (int i = 0; i < 20; i++) p.send(record("big", 0, null, r, i, true));
        }
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(props)) {
            for (int i = 0; i < 2; i++) {
                byte[] v = text(r, 3 << 20); // compresses well below max.message.bytes
                p.send(new ProducerRecord<>("big", 0, null, null, v)).get();
            }
        }
        log("big done");
    }

    void idempotent() throws Exception {
        Properties props = producerProps("lz4", true);
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        Random r = new Random(11);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(props)) {
            for (int i = 0; i < 2000; i++) p.send(record("idem", i % 2, null, r, i, true));
        }
        // a second idempotent producer (new producer id) on the same partitions
        try (KafkaProducer<byte[], byte[]> p = producer("snappy", true)) {
            for (int i = 0; i < 500; i++) p.send(record("idem", i % 2, null, r, i, true));
        }
        log("idempotent done");
    }

    Properties txnProps(String id, String codec) {
        Properties p = producerProps(codec, true);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
        return p;
    }

    void transactions() throws Exception {
        Properties cp = consumerProps("txn-group", "classic", "read_committed");
        try (KafkaConsumer<byte[], byte[]> groupConsumer = new KafkaConsumer<>(cp)) {
            groupConsumer.subscribe(List.of("p-none"));
            groupConsumer.poll(Duration.ofSeconds(3));
            for (int t = 0; t < 3; t++) {
                String codec = CODECS[(t + 1) % CODECS.length];
                Random r = new Random(1000 + t);
                try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(txnProps("txn-" + t, codec))) {
                    p.initTransactions();
                    for (int n = 0; n < 20; n++) {
                        p.beginTransaction();
                        for (int i = 0; i < 30; i++) {
                            int k = n * 30 + i;
                            p.send(record(i % 5 == 4 ? "txn-b" : "txn", i % 5 == 4 ? 0 : (k % 3), null, r, k, true));
                        }
                        if (n % 4 == 1) {
                            Map<TopicPartition, OffsetAndMetadata> offs = new HashMap<>();
                            offs.put(new TopicPartition("p-none", 0), new OffsetAndMetadata(n * 10L + t, "txn-meta"));
                            p.sendOffsetsToTransaction(offs, groupConsumer.groupMetadata());
                        }
                        p.flush(); // so that aborted transactions really wrote data
                        if (n % 3 == 2) p.abortTransaction();
                        else p.commitTransaction();
                    }
                    if (t == 2) {
                        // fence this producer with a new instance of the same transactional id
                        p.beginTransaction();
                        p.send(record("txn", 0, null, r, 9999, true));
                        p.flush();
                        try (KafkaProducer<byte[], byte[]> p2 = new KafkaProducer<>(txnProps("txn-2", codec))) {
                            p2.initTransactions(); // aborts the open transaction of p, bumps the epoch
                            p2.beginTransaction();
                            p2.send(record("txn", 1, null, r, 10000, true));
                            p2.commitTransaction();
                        }
                        try {
                            p.commitTransaction();
                        } catch (ProducerFencedException | org.apache.kafka.common.errors.InvalidProducerEpochException e) {
                            log("fenced as expected: " + e.getClass().getSimpleName());
                        } catch (Exception e) {
                            log("fenced producer: " + e);
                        }
                    }
                } catch (Exception e) {
                    if (t != 2) throw e;
                    log("txn-2 close: " + e);
                }
            }
        }
        log("transactions done");
    }

    /** Compacted topic: rounds over 200 keys with tombstones; time-rolled segments so the cleaner works. */
    Void compacted() throws Exception {
        Random r = new Random(5);
        try (KafkaProducer<byte[], byte[]> p = producer("none", true);
             KafkaProducer<byte[], byte[]> pz = producer("zstd", false)) {
            for (int round = 0; round < 8; round++) {
                for (int i = 0; i < 400; i++) {
                    int key = r.nextInt(200);
                    byte[] k = ("key-" + key).getBytes(StandardCharsets.UTF_8);
                    boolean tomb = round >= 3 && key % 10 == round;
                    byte[] v = tomb ? null : text(r, 50 + r.nextInt(200));
                    RecordHeaders h = i % 4 == 0 ? headers(r, 3) : new RecordHeaders();
                    (i % 2 == 0 ? p : pz).send(new ProducerRecord<>("compacted", key % 2, null, k, v, h));
                }
                p.flush();
                pz.flush();
                Thread.sleep(2800);
            }
            // one more record per partition much later so the last data segment rolls
            Thread.sleep(3000);
            for (int part = 0; part < 2; part++) p.send(new ProducerRecord<>("compacted", part, null, "roll".getBytes(), "x".getBytes()));
        }
        log("compacted done");
        return null;
    }

    /** Short retention with old timestamps: the broker deletes the rolled segments. */
    Void retention() throws Exception {
        Random r = new Random(9);
        try (KafkaProducer<byte[], byte[]> p = producer("gzip", false)) {
            for (int round = 0; round < 8; round++) {
                for (int i = 0; i < 200; i++) p.send(record("retention", 0, T0 + round * 1000L + i, r, i, true));
                p.flush();
                Thread.sleep(2500);
            }
            for (int i = 0; i < 50; i++) p.send(record("retention", 0, null, r, i, true));
        }
        log("retention done");
        return null;
    }

    void logAppend() throws Exception {
        Random r = new Random(13);
        try (KafkaProducer<byte[], byte[]> p = producer("gzip", false);
             KafkaProducer<byte[], byte[]> p2 = producer("none", true)) {
            for (int i = 0; i < 1000; i++) (i % 2 == 0 ? p : p2).send(record("logappend", 0, T0 + i, r, i, true));
        }
        log("logappend done");
    }

    static final byte[][] BAD_UTF8 = {
        {(byte) 0xED, (byte) 0xA0, (byte) 0x80},                       // lone high surrogate U+D800
        {(byte) 0xED, (byte) 0xBF, (byte) 0xBF},                       // lone low surrogate U+DFFF
        {(byte) 0xED, (byte) 0xA0, (byte) 0xBD, (byte) 0xED, (byte) 0xB8, (byte) 0x80}, // CESU-8 pair
        {(byte) 0x80},                                                  // lone continuation
        {(byte) 0xC0, (byte) 0xAF},                                     // overlong '/'
        {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},                        // overlong 3-byte
        {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},           // > U+10FFFF
        {(byte) 0xF5, (byte) 0x80},
        {(byte) 0xFF, (byte) 0xFE, 0x41},
        {0x41, (byte) 0xE2, (byte) 0x82},                               // truncated 3-byte at end
        {(byte) 0xE2, (byte) 0x82, 0x41},                               // truncated 3-byte, then ASCII
        {(byte) 0xF0, (byte) 0x9F, (byte) 0x99, (byte) 0x82},           // valid emoji
        {(byte) 0xF0, (byte) 0x9F, (byte) 0x99},                        // truncated 4-byte
        {0, 1, 2, 0x1F, 0x7F, 0x0A, 0x0D, 0x09, '"', '\\'},             // controls and JSON specials
        {(byte) 0xC2, (byte) 0x80, (byte) 0xC2, (byte) 0x9F},           // C1 controls (valid)
        {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 0x78},                  // BOM
        {(byte) 0xEF, (byte) 0xBF, (byte) 0xBE},                        // U+FFFE noncharacter
    };

    void binary() throws Exception {
        Random r = new Random(17);
        try (KafkaProducer<byte[], byte[]> p = producer("none", true)) {
            for (int i = 0; i < 300; i++) {
                byte[] bad = BAD_UTF8[i % BAD_UTF8.length];
                byte[] v;
                if (i % 3 == 0) {
                    v = new byte[50 + r.nextInt(200)];
                    r.nextBytes(v);
                } else {
                    byte[] pre = ("v" + i + ":").getBytes(StandardCharsets.UTF_8);
                    v = new byte[pre.length + bad.length + 2];
                    System.arraycopy(pre, 0, v, 0, pre.length);
                    System.arraycopy(bad, 0, v, pre.length, bad.length);
                    v[v.length - 2] = (byte) 0xED;
                    v[v.length - 1] = (byte) (i % 2 == 0 ? 0xA0 : 0x41);
                }
                byte[] k = i % 2 == 0 ? bad : ("bin" + i).getBytes(StandardCharsets.UTF_8);
                RecordHeaders h = new RecordHeaders();
                h.add(new RecordHeader("raw", bad));
                h.add(new RecordHeader("h\u00e9", v.length > 8 ? java.util.Arrays.copyOf(v, 8) : v));
                p.send(new ProducerRecord<>("binary", 0, T0 + 5_000_000_000L + i, k, v, h));
            }
        }
        log("binary done");
    }

    Properties consumerProps(String group, String protocol, String isolation) {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        if (group != null) {
            c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            c.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
            c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        }
        return c;
    }

    /** Consumer groups committing offsets: the classic protocol and the new consumer protocol (KIP-848). */
    void groups() throws Exception {
        String[][] gs = {{"g-classic", "classic", "p-none"}, {"g-consumer", "consumer", "p-gzip"},
            {"g-consumer2", "consumer", "idem"}};
        for (String[] g : gs) {
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps(g[0], g[1], "read_uncommitted"))) {
                c.subscribe(List.of(g[2], "t-none"));
                int seen = 0;
                long deadline = System.currentTimeMillis() + 20_000;
                int commits = 0;
                while (System.currentTimeMillis() < deadline && commits < 6) {
                    ConsumerRecords<byte[], byte[]> recs = c.poll(Duration.ofMillis(500));
                    seen += recs.count();
                    if (recs.count() > 0) {
                        c.commitSync();
                        commits++;
                    }
                }
                log("group " + g[0] + " read " + seen + ", " + commits + " commits");
            }
        }
    }

    /** Topic creation and deletion, configs, partitions, quotas, SCRAM: many metadata record types. */
    void metadataChurn() throws Exception {
        for (int round = 0; round < 3; round++) {
            List<NewTopic> t = new ArrayList<>();
            for (int i = 0; i < 4; i++) t.add(topic("tmp-" + round + "-" + i, 1 + i % 3, "segment.ms", "600000"));
            admin.createTopics(t).all().get(30, TimeUnit.SECONDS);
            try (KafkaProducer<byte[], byte[]> p = producer("none", false)) {
                for (NewTopic nt : t) for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(nt.name(), ("x" + i).getBytes()));
            }
            admin.createPartitions(Map.of("tmp-" + round + "-0", NewPartitions.increaseTo(4))).all().get(30, TimeUnit.SECONDS);
            ConfigResource cr = new ConfigResource(ConfigResource.Type.TOPIC, "tmp-" + round + "-1");
            admin.incrementalAlterConfigs(Map.of(cr, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "86400000"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry("min.insync.replicas", "1"), AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
            admin.deleteTopics(t.stream().map(NewTopic::name).toList()).all().get(30, TimeUnit.SECONDS);
        }
        ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, "");
        admin.incrementalAlterConfigs(Map.of(broker, List.of(
            new AlterConfigOp(new ConfigEntry("log.cleaner.threads", "1"), AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        admin.alterClientQuotas(List.of(new ClientQuotaAlteration(
            new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, "slow-client")),
            List.of(new ClientQuotaAlteration.Op("producer_byte_rate", 1048576.0))))).all().get(30, TimeUnit.SECONDS);
        admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion("alice",
            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), "alice-secret"))).all().get(30, TimeUnit.SECONDS);
        ConfigResource txnTopic = new ConfigResource(ConfigResource.Type.TOPIC, "txn");
        admin.incrementalAlterConfigs(Map.of(txnTopic, List.of(
            new AlterConfigOp(new ConfigEntry("min.insync.replicas", "1"), AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        log("metadata churn done");
    }

    // ---------------------------------------------------------------- hanging transaction

    void hang() throws Exception {
        Properties props = txnProps("hanger", "none");
        props.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "900000");
        Random r = new Random(23);
        KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(props);
        p.initTransactions();
        p.beginTransaction();
        for (int i = 0; i < 20; i++) p.send(record("hanging", 0, null, r, i, true));
        p.commitTransaction();
        p.beginTransaction();
        for (int i = 0; i < 30; i++) p.send(record("hanging", 0, null, r, 100 + i, true));
        p.send(record("hanging", 1, null, r, 200, true));
        p.flush();
        log("READY");
        Thread.sleep(3_600_000);
    }

    /** Records written after the hanging transaction opened (beyond the LSO for read_committed). */
    void afterHang() throws Exception {
        Random r = new Random(29);
        try (KafkaProducer<byte[], byte[]> p = producer("gzip", true)) {
            for (int i = 0; i < 100; i++) p.send(record("hanging", i % 2, null, r, i, true));
        }
        log("after-hang records written");
    }

    // ---------------------------------------------------------------- crash run

    void crash() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<?>> jobs = new ArrayList<>();
        for (int w = 0; w < 3; w++) {
            final int id = w;
            jobs.add(pool.submit(() -> {
                Random r = new Random(500 + id);
                if (id == 0) {
                    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(txnProps("crash-txn", "lz4"))) {
                        p.initTransactions();
                        for (int n = 0; ; n++) {
                            p.beginTransaction();
                            for (int i = 0; i < 20; i++) p.send(record("txn", i % 3, null, r, i, true));
                            if (n % 3 == 2) p.abortTransaction();
                            else p.commitTransaction();
                        }
                    }
                } else {
                    try (KafkaProducer<byte[], byte[]> p = producer(CODECS[id * 2], id == 1)) {
                        for (int i = 0; ; i++) {
                            p.send(record("p-" + CODECS[id * 2], i % 2, null, r, i, true));
                            int key = r.nextInt(100);
                            p.send(new ProducerRecord<>("compacted", key % 2, ("key-" + key).getBytes(),
                                key % 7 == 0 ? null : text(r, 100)));
                            if (i % 200 == 0) p.flush();
                        }
                    }
                }
            }));
        }
        log("crash writers started");
        for (Future<?> f : jobs) {
            try {
                f.get();
            } catch (Exception e) {
                log("writer ended: " + e);
            }
        }
    }

    /**
     * The third run, once the broker has recovered the segments whose indexes were deleted: a
     * committed and an aborted transaction append to recovered active segments (data batches and
     * markers to "txn", the coordinator's records to __transaction_state), which the broker indexes
     * from the end of its recovery (interop/compare.py, appended_after_recovery).
     */
    void afterRecovery() throws Exception {
        Random r = new Random(700);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(txnProps("recovered-txn", "none"))) {
            p.initTransactions();
            for (int n = 0; n < 2; n++) {
                p.beginTransaction();
                for (int i = 0; i < 6; i++) p.send(record("txn", i % 3, null, r, i, true));
                if (n == 1) p.abortTransaction();
                else p.commitTransaction();
            }
        }
        log("after-recovery transactions done");
    }

    // ---------------------------------------------------------------- goldens

    /** Small files for testdata/broker: every kind the goldens need, little data. */
    void goldens() throws Exception {
        admin.createTopics(List.of(
            topic("g-rolled", 1, "segment.ms", "500"), // record time: T0+i, then T0+1000+i rolls
            topic("g-compacted", 1, "cleanup.policy", "compact", "segment.ms", "1500",
                "min.cleanable.dirty.ratio", "0.01", "delete.retention.ms", "1000", "min.compaction.lag.ms", "0",
                "file.delete.delay.ms", "600000"),
            topic("g-txn", 1, "segment.ms", "3000"),
            topic("g-binary", 1))).all().get(30, TimeUnit.SECONDS);
        Random r = new Random(3);
        try (KafkaProducer<byte[], byte[]> p = producer("lz4", true)) {
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 40; i++) {
                    ProducerRecord<byte[], byte[]> rec = record("g-rolled", 0, T0 + round * 1000 + i, r, i, true);
                    p.send(new ProducerRecord<>(rec.topic(), 0, rec.timestamp(), rec.key(),
                        rec.value() == null ? null : java.util.Arrays.copyOf(rec.value(), Math.min(rec.value().length, 40)), rec.headers()));
                    if (i % 5 == 4) p.flush();
                }
                Thread.sleep(2000);
            }
        }
        try (KafkaProducer<byte[], byte[]> p = producer("none", true)) {
            for (int round = 0; round < 4; round++) {
                for (int i = 0; i < 30; i++) {
                    int key = (i * 7 + round) % 12;
                    boolean tomb = round >= 1 && key % 4 == round;
                    p.send(new ProducerRecord<>("g-compacted", 0, null, ("key-" + key).getBytes(StandardCharsets.UTF_8),
                        tomb ? null : ("v" + round + "-" + i).getBytes(StandardCharsets.UTF_8)));
                }
                p.flush();
                Thread.sleep(2000);
            }
            p.send(new ProducerRecord<>("g-compacted", 0, null, "roll".getBytes(), "x".getBytes()));
            for (int i = 0; i < BAD_UTF8.length; i++) {
                RecordHeaders h = new RecordHeaders();
                h.add(new RecordHeader("raw", BAD_UTF8[i]));
                p.send(new ProducerRecord<>("g-binary", 0, T0 + i, BAD_UTF8[(i + 1) % BAD_UTF8.length], BAD_UTF8[i], h));
            }
        }
        for (int t = 0; t < 2; t++) {
            try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(txnProps("g-txn-" + t, t == 0 ? "none" : "gzip"))) {
                p.initTransactions();
                for (int n = 0; n < 4; n++) {
                    p.beginTransaction();
                    for (int i = 0; i < 3; i++) p.send(new ProducerRecord<>("g-txn", 0, null, ("t" + t + "-" + n).getBytes(), ("v" + i).getBytes()));
                    p.flush(); // else an abort may drop the unsent records: no data, no marker
                    if (n % 2 == 1) p.abortTransaction();
                    else p.commitTransaction();
                }
            }
            Thread.sleep(3500);
        }
        try (KafkaProducer<byte[], byte[]> p = producer("none", true)) {
            p.send(new ProducerRecord<>("g-txn", 0, null, "after".getBytes(), "roll".getBytes())).get();
        }
        for (String[] g : new String[][] {{"g-classic", "classic"}, {"g-consumer", "consumer"}}) {
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps(g[0], g[1], "read_committed"))) {
                c.subscribe(List.of("g-txn", "g-rolled"));
                long deadline = System.currentTimeMillis() + 15_000;
                int commits = 0;
                while (System.currentTimeMillis() < deadline && commits < 2) {
                    if (c.poll(Duration.ofMillis(500)).count() > 0) {
                        c.commitSync();
                        commits++;
                    }
                }
            }
        }
        // a topic created and deleted, a config change: more metadata record types
        admin.createTopics(List.of(topic("g-tmp", 2))).all().get(30, TimeUnit.SECONDS);
        admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, "g-rolled"), List.of(
            new AlterConfigOp(new ConfigEntry("min.insync.replicas", "1"), AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        admin.deleteTopics(List.of("g-tmp")).all().get(30, TimeUnit.SECONDS);
        Thread.sleep(3000); // the cleaner's second pass (tombstones past delete.retention.ms)
        log("goldens workload done");
    }

    // ---------------------------------------------------------------- churn

    /** Bytes per second each churn writer sends (value bytes): about 1.5 MB/s in all. */
    static final int RETENTION_RATE = 700_000, COMPACT_RATE = 400_000, TXN_RATE = 400_000;

    /**
     * Topics whose files change all the time, written for `seconds`: 1 MiB segments (Kafka 4
     * refuses less) and short retention. churn-retention: retention.bytes 3 MiB, so the oldest
     * segment goes every few seconds; churn-compact: time-rolled segments the cleaner cleans at
     * once (.cleaned, .swap and .deleted files come and go); churn-txn: commits and aborts,
     * retention.ms 20 s. file.delete.delay.ms 1 s everywhere: .deleted files vanish while read.
     */
    void churn(int seconds) throws Exception {
        admin.createTopics(List.of(
            topic("churn-retention", 2, "segment.bytes", "1048576", "retention.bytes", "3145728",
                "file.delete.delay.ms", "1000"),
            topic("churn-compact", 2, "cleanup.policy", "compact", "segment.bytes", "1048576", "segment.ms", "3000",
                "min.cleanable.dirty.ratio", "0.01", "min.compaction.lag.ms", "0", "delete.retention.ms", "1000",
                "file.delete.delay.ms", "1000"),
            topic("churn-txn", 2, "segment.bytes", "1048576", "segment.ms", "5000", "retention.ms", "20000",
                "file.delete.delay.ms", "1000"))).all().get(60, TimeUnit.SECONDS);
        log("churn topics created; writing for " + seconds + " s");
        long end = System.currentTimeMillis() + seconds * 1000L;
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<String>> jobs = new ArrayList<>();
        jobs.add(pool.submit(() -> churnRetention(end)));
        jobs.add(pool.submit(() -> churnCompact(end)));
        jobs.add(pool.submit(() -> churnTxn(end)));
        for (Future<String> f : jobs) log(f.get(seconds + 120L, TimeUnit.SECONDS));
        pool.shutdown();
        log("churn done");
    }

    /** Sleeps so that `sent` bytes since `start` stay at or below `rate` bytes per second. */
    static void pace(long start, long sent, int rate) throws InterruptedException {
        long due = start + sent * 1000L / rate;
        long now = System.currentTimeMillis();
        if (due > now) Thread.sleep(due - now);
    }

    String churnRetention(long end) throws Exception {
        Random r = new Random(41);
        long start = System.currentTimeMillis(), sent = 0, n = 0;
        try (KafkaProducer<byte[], byte[]> p = producer("none", true)) {
            while (System.currentTimeMillis() < end) {
                ProducerRecord<byte[], byte[]> rec = record("churn-retention", (int) (n % 2), null, r, (int) (n % 100_000), true);
                p.send(rec);
                sent += rec.value() == null ? 0 : rec.value().length;
                n++;
                if (n % 50 == 0) pace(start, sent, RETENTION_RATE);
            }
        }
        return "churn-retention: " + n + " records, " + sent + " value bytes";
    }

    String churnCompact(long end) throws Exception {
        Random r = new Random(43);
        long start = System.currentTimeMillis(), sent = 0, n = 0;
        try (KafkaProducer<byte[], byte[]> p = producer("lz4", true)) {
            while (System.currentTimeMillis() < end) {
                int key = r.nextInt(1000);
                byte[] v = n % 20 == 19 ? null : text(r, 100 + r.nextInt(400)); // a tombstone now and then
                p.send(new ProducerRecord<>("churn-compact", key % 2, null, ("key-" + key).getBytes(StandardCharsets.UTF_8), v));
                sent += v == null ? 0 : v.length;
                n++;
                if (n % 50 == 0) pace(start, sent, COMPACT_RATE);
            }
        }
        return "churn-compact: " + n + " records, " + sent + " value bytes";
    }

    String churnTxn(long end) throws Exception {
        Random r = new Random(47);
        long start = System.currentTimeMillis(), sent = 0, commits = 0, aborts = 0;
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(txnProps("churn-txn", "zstd"))) {
            p.initTransactions();
            for (int t = 0; System.currentTimeMillis() < end; t++) {
                p.beginTransaction();
                for (int i = 0; i < 40; i++) {
                    ProducerRecord<byte[], byte[]> rec = record("churn-txn", i % 2, null, r, t * 40 + i, true);
                    p.send(rec);
                    sent += rec.value() == null ? 0 : rec.value().length;
                }
                p.flush(); // so that an aborted transaction really wrote data
                if (t % 4 == 3) {
                    p.abortTransaction();
                    aborts++;
                } else {
                    p.commitTransaction();
                    commits++;
                }
                pace(start, sent, TXN_RATE);
            }
        }
        return "churn-txn: " + commits + " transactions committed, " + aborts + " aborted, " + sent + " value bytes";
    }

    // ---------------------------------------------------------------- freeze

    /** Before the oracle reads: no more retention deletes, no more cleaning passes. */
    void freeze() throws Exception {
        Map<ConfigResource, Collection<AlterConfigOp>> ops = new HashMap<>();
        ops.put(new ConfigResource(ConfigResource.Type.TOPIC, "retention"), List.of(
            new AlterConfigOp(new ConfigEntry("retention.ms", "-1"), AlterConfigOp.OpType.SET)));
        ops.put(new ConfigResource(ConfigResource.Type.TOPIC, "compacted"), List.of(
            new AlterConfigOp(new ConfigEntry("min.cleanable.dirty.ratio", "0.99"), AlterConfigOp.OpType.SET),
            new AlterConfigOp(new ConfigEntry("segment.ms", "604800000"), AlterConfigOp.OpType.SET)));
        admin.incrementalAlterConfigs(ops).all().get(30, TimeUnit.SECONDS);
        log("frozen");
    }
}
