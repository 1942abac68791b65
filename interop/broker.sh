# Sourced by run.sh and make-goldens.sh: start/stop one single-node KRaft broker on 127.0.0.1.
# Needs: LIB (broker classpath dir), WORK (scratch dir), OUT (report dir).

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# write_config DATA_DIR BROKER_PORT CONTROLLER_PORT FILE
write_config() {
    cat > "$4" <<CFG
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$3
listeners=PLAINTEXT://127.0.0.1:$2,CONTROLLER://127.0.0.1:$3
advertised.listeners=PLAINTEXT://127.0.0.1:$2
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$1
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=2
transaction.state.log.segment.bytes=1048576
offsets.topic.segment.bytes=1048576
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# many small segments, dense indexes
log.segment.bytes=1048576
log.index.interval.bytes=512
log.retention.ms=-1
log.retention.check.interval.ms=2000
log.segment.delete.delay.ms=300000
log.cleaner.backoff.ms=500
log.cleaner.dedupe.buffer.size=16777216
log.cleaner.min.compaction.lag.ms=0
message.max.bytes=1048588
# KRaft metadata log: roll and snapshot often
metadata.log.segment.ms=15000
metadata.log.max.snapshot.interval.ms=10000
metadata.max.idle.interval.ms=500
CFG
}

BROKER_PID=
# start_broker CONFIG LOGFILE BROKER_PORT: returns when the broker accepts connections
start_broker() {
    java -Xms256m -Xmx1g -XX:+UseG1GC -Dlog4j2.configurationFile="$WORK/log4j2.properties" \
        -Dkafka.logs.dir="$WORK/broker-logs" -cp "$LIB/*" kafka.Kafka "$1" > "$2" 2>&1 &
    BROKER_PID=$!
    local i
    for i in $(seq 1 120); do
        if grep -q 'Kafka Server started\|KafkaRaftServer.*started\|\[KafkaRaftServer nodeId=1\] Kafka Server started' "$2" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            echo "broker died on start; last lines of $2:" >&2; tail -30 "$2" >&2; return 1
        fi
        sleep 1
    done
    echo "broker did not start in 120 s" >&2; tail -30 "$2" >&2; return 1
}

# stop_broker [KILL]: SIGTERM (controlled shutdown) and wait, or SIGKILL with KILL
stop_broker() {
    [ -n "$BROKER_PID" ] || return 0
    if [ "${1:-}" = KILL ]; then
        kill -9 "$BROKER_PID" 2>/dev/null || true
    else
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        local i
        for i in $(seq 1 90); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 1; done
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            echo "broker did not stop in 90 s: kill -9" >&2; kill -9 "$BROKER_PID" 2>/dev/null || true
        fi
    fi
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
}

write_log4j() {
    cat > "$WORK/log4j2.properties" <<L4J
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.requestlogger.name = kafka.request.logger
logger.requestlogger.level = WARN
L4J
}

# write_client_log4j: the log4j2 configuration of the client JVMs (workload, oracle): warnings on stderr.
write_client_log4j() {
    cat > "$WORK/client-log4j2.properties" <<'L4J'
status = warn
appender.console.type = Console
appender.console.name = STDERR
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [client] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
L4J
}
