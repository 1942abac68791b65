//! `__transaction_state`: the transaction coordinator's records.
//!
//! Same framing as `__consumer_offsets`. One record type (0): key =
//! `transactionalId`, value = the transaction's metadata. `transactionStatus`
//! is shown by name, as Kafka's newest decoder does.

pub const SCHEMAS: &str = r#"
record 0 TRANSACTION_LOG
key
  transactionalId string
value 0-1 flex 1+
  producerId int64
  previousProducerId int64 v1+ tag0
  nextProducerId int64 v1+ tag1
  producerEpoch int16
  nextProducerEpoch int16 v1+ tag3
  transactionTimeoutMs int32
  transactionStatus int8
  transactionPartitions []{ null
    topic string
    partitionIds []int32
  transactionLastUpdateTimestampMs int64
  transactionStartTimestampMs int64
  clientTransactionVersion int16 v1+ tag2
"#;

/// Transaction states by their stored id.
pub fn state_name(id: i64) -> Option<&'static str> {
    Some(match id {
        0 => "Empty",
        1 => "Ongoing",
        2 => "PrepareCommit",
        3 => "PrepareAbort",
        4 => "CompleteCommit",
        5 => "CompleteAbort",
        6 => "Dead",
        7 => "PrepareEpochFence",
        _ => return None,
    })
}
