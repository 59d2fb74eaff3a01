"""Event plumbing: topics, the protobuf envelope, the transactional outbox and its relay, the inbox consumer."""
