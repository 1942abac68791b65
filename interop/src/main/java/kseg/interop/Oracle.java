package kseg.interop;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeProducersResult;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The Kafka-client side of the comparisons, run against the live broker after the workload.
 *
 * Usage: Oracle BOOTSTRAP OUT_DIR
 *
 * Writes into OUT_DIR:
 *   partitions.tsv            topic partition logStartOffset highWatermark lastStableOffset
 *   records/T-P.ru.jsonl      every record a read_uncommitted consumer reads (offset, timestamp,
 *                             timestampType, key, value, headers; bytes in base64)
 *   records/T-P.rc.jsonl      the same with read_committed, for the transactional topics
 *   lookups.tsv               topic partition spec offset timestamp: AdminClient.listOffsets for
 *                             earliest, latest, max-timestamp and sampled timestamps
 *   producers.jsonl           AdminClient.describeProducers, one object per partition and producer
 *   groups.jsonl              AdminClient.listConsumerGroupOffsets of every group listGroups names
 *                            (share groups left out): group, topic, partition, committed offset
 */
public final class Oracle {
    static final List<String> COMMITTED_TOPICS = List.of("txn", "txn-b", "hanging");

    public static void main(String[] args) {
        int rc = 0;
        try {
            run(args);
        } catch (Throwable e) {
            e.printStackTrace();
            rc = 1;
        }
        System.exit(rc);
    }

    static void run(String[] args) throws Exception {
        String bootstrap = args[0];
        Path out = Paths.get(args[1]);
        Files.createDirectories(out.resolve("records"));
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            TreeSet<String> topics = new TreeSet<>(admin.listTopics().names().get(30, TimeUnit.SECONDS));
            Map<String, TopicDescription> desc = admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS);
            List<TopicPartition> tps = new ArrayList<>();
            for (String t : topics) for (TopicPartitionInfo pi : desc.get(t).partitions()) tps.add(new TopicPartition(t, pi.partition()));

            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> earliest = list(admin, tps, OffsetSpec.earliest(), IsolationLevel.READ_UNCOMMITTED);
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> latest = list(admin, tps, OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED);
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> lso = list(admin, tps, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED);
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> maxTs = list(admin, tps, OffsetSpec.maxTimestamp(), IsolationLevel.READ_UNCOMMITTED);
            try (PrintWriter pw = writer(out.resolve("partitions.tsv"))) {
                for (TopicPartition tp : tps) {
                    pw.println(tp.topic() + "\t" + tp.partition() + "\t" + earliest.get(tp).offset() + "\t"
                        + latest.get(tp).offset() + "\t" + lso.get(tp).offset());
                }
            }

            // records, and the timestamps to look up
            Map<TopicPartition, List<Long>> timestamps = new HashMap<>();
            int total = 0;
            for (TopicPartition tp : tps) {
                List<Long> ts = new ArrayList<>();
                total += consume(bootstrap, tp, "read_uncommitted", latest.get(tp).offset(), out.resolve("records/" + tp + ".ru.jsonl"), ts);
                timestamps.put(tp, ts);
                if (COMMITTED_TOPICS.contains(tp.topic())) {
                    consume(bootstrap, tp, "read_committed", lso.get(tp).offset(), out.resolve("records/" + tp + ".rc.jsonl"), null);
                }
            }
            System.out.println("[oracle] consumed " + total + " records from " + tps.size() + " partitions");

            // listOffsets lookups
            int lookups = 0;
            try (PrintWriter pw = writer(out.resolve("lookups.tsv"))) {
                for (TopicPartition tp : tps) {
                    row(pw, tp, "earliest", earliest.get(tp));
                    row(pw, tp, "latest", latest.get(tp));
                    row(pw, tp, "max-timestamp", maxTs.get(tp));
                    lookups += 3;
                }
                Random r = new Random(42);
                Map<TopicPartition, TreeSet<Long>> wanted = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
                for (TopicPartition tp : tps) {
                    List<Long> ts = timestamps.get(tp);
                    TreeSet<Long> w = new TreeSet<>();
                    if (!ts.isEmpty()) {
                        long min = ts.stream().mapToLong(Long::longValue).min().getAsLong();
                        long max = ts.stream().mapToLong(Long::longValue).max().getAsLong();
                        w.add(min - 1);
                        w.add(min);
                        w.add(max);
                        w.add(max + 1);
                        w.add(0L);
                        for (int i = 0; i < 6; i++) {
                            long t = ts.get(r.nextInt(ts.size()));
                            w.add(t);
                            w.add(t + 1);
                        }
                    } else {
                        w.add(0L);
                    }
                    wanted.put(tp, w);
                }
                for (Map.Entry<TopicPartition, TreeSet<Long>> e : wanted.entrySet()) {
                    for (long t : e.getValue()) {
                        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> res =
                            list(admin, List.of(e.getKey()), OffsetSpec.forTimestamp(t), IsolationLevel.READ_UNCOMMITTED);
                        row(pw, e.getKey(), String.valueOf(t), res.get(e.getKey()));
                        lookups++;
                    }
                }
            }
            System.out.println("[oracle] " + lookups + " listOffsets lookups");

            // describeProducers
            DescribeProducersResult dp = admin.describeProducers(tps);
            try (PrintWriter pw = writer(out.resolve("producers.jsonl"))) {
                for (TopicPartition tp : tps) {
                    List<ProducerState> states = dp.partitionResult(tp).get(30, TimeUnit.SECONDS).activeProducers();
                    for (ProducerState s : states) {
                        pw.println("{\"topic\":\"" + tp.topic() + "\",\"partition\":" + tp.partition()
                            + ",\"producer_id\":" + s.producerId()
                            + ",\"producer_epoch\":" + s.producerEpoch()
                            + ",\"last_sequence\":" + s.lastSequence()
                            + ",\"last_timestamp\":" + s.lastTimestamp()
                            + ",\"coordinator_epoch\":" + (s.coordinatorEpoch().isPresent() ? s.coordinatorEpoch().getAsInt() : -1)
                            + ",\"current_txn_start_offset\":" + (s.currentTransactionStartOffset().isPresent() ? s.currentTransactionStartOffset().getAsLong() : -1)
                            + "}");
                    }
                }
            }
            System.out.println("[oracle] producers described");

            // Consumer groups: every group's committed offsets, as the
            // coordinator answers (kseg groups must replay the same).
            int committed = 0;
            try (PrintWriter pw = writer(out.resolve("groups.jsonl"))) {
                for (GroupListing g : admin.listGroups().all().get(30, TimeUnit.SECONDS)) {
                    if (g.type().isPresent() && g.type().get() == GroupType.SHARE) continue;
                    Map<TopicPartition, OffsetAndMetadata> offs = admin.listConsumerGroupOffsets(g.groupId())
                        .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
                    List<Map.Entry<TopicPartition, OffsetAndMetadata>> es = new ArrayList<>(offs.entrySet());
                    es.sort((a, b) -> a.getKey().toString().compareTo(b.getKey().toString()));
                    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : es) {
                        if (e.getValue() == null) continue;
                        pw.println("{\"group\":" + jsonString(g.groupId()) + ",\"topic\":" + jsonString(e.getKey().topic())
                            + ",\"partition\":" + e.getKey().partition() + ",\"offset\":" + e.getValue().offset() + "}");
                        committed++;
                    }
                }
            }
            System.out.println("[oracle] " + committed + " committed offsets listed");
        }
    }

    static PrintWriter writer(Path p) throws IOException {
        return new PrintWriter(Files.newBufferedWriter(p, StandardCharsets.UTF_8));
    }

    static void row(PrintWriter pw, TopicPartition tp, String spec, ListOffsetsResult.ListOffsetsResultInfo info) {
        pw.println(tp.topic() + "\t" + tp.partition() + "\t" + spec + "\t" + info.offset() + "\t" + info.timestamp());
    }

    static Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> list(Admin admin, List<TopicPartition> tps,
            OffsetSpec spec, IsolationLevel level) throws Exception {
        Map<TopicPartition, OffsetSpec> req = new HashMap<>();
        for (TopicPartition tp : tps) req.put(tp, spec);
        return admin.listOffsets(req, new ListOffsetsOptions(level)).all().get(60, TimeUnit.SECONDS);
    }

    static String b64(byte[] b) {
        return b == null ? "null" : "\"" + Base64.getEncoder().encodeToString(b) + "\"";
    }

    static String jsonString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }

    /** Reads tp from its start up to end (exclusive); returns the number of records. */
    static int consume(String bootstrap, TopicPartition tp, String isolation, long end, Path file, List<Long> timestamps) throws IOException {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
        c.put(ConsumerConfig.CHECK_CRCS_CONFIG, "true");
        int n = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c);
             PrintWriter pw = writer(file)) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long deadline = System.currentTimeMillis() + 60_000;
            while (consumer.position(tp) < end) {
                if (System.currentTimeMillis() > deadline) {
                    System.out.println("[oracle] timeout reading " + tp + " at " + consumer.position(tp) + " of " + end);
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(500))) {
                    if (rec.offset() >= end) continue;
                    StringBuilder h = new StringBuilder("[");
                    for (Header hd : rec.headers()) {
                        if (h.length() > 1) h.append(',');
                        h.append("{\"key\":").append(jsonString(hd.key())).append(",\"value\":").append(b64(hd.value())).append('}');
                    }
                    h.append(']');
                    pw.println("{\"offset\":" + rec.offset() + ",\"timestamp\":" + rec.timestamp()
                        + ",\"timestamp_type\":\"" + rec.timestampType().name + "\""
                        + ",\"key\":" + b64(rec.key()) + ",\"value\":" + b64(rec.value()) + ",\"headers\":" + h + "}");
                    if (timestamps != null) timestamps.add(rec.timestamp());
                    n++;
                }
            }
        }
        return n;
    }

    private Oracle() { }
}
