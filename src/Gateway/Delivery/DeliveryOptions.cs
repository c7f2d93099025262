namespace OcpTalkdesk.Gateway.Delivery;

/// <summary><c>Gateway:Delivery</c>: store-and-forward delivery (see README, "Delivery guarantees").</summary>
public sealed class DeliveryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Gateway:Delivery";

    /// <summary>The connection string's key (<c>ConnectionStrings:Delivery</c>).</summary>
    public const string ConnectionStringName = "Delivery";

    /// <summary><c>Direct</c> (default) or <c>StoreAndForward</c>.</summary>
    public DeliveryMode Mode { get; set; } = DeliveryMode.Direct;

    /// <summary><c>Sqlite</c> (default, embedded) or <c>Postgres</c> (shared by replicas).</summary>
    public DeliveryStoreKind Store { get; set; } = DeliveryStoreKind.Sqlite;

    /// <summary>How long the first forward may take before the event is parked. Default 8 s; less than the execution timeout.</summary>
    public TimeSpan AttemptBudget { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>
    /// Kept back from the execution timeout to park an event and answer 202: a live forward never waits longer than what is
    /// left of the call's execution timeout minus this (nor longer than <see cref="AttemptBudget"/>). Default 0.5 s.
    /// </summary>
    public TimeSpan AnswerMargin { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// PostgreSQL: how long a statement of live lookups (whether each event's key was answered, what holds its
    /// conversation) may take before the driver cancels it (whole seconds, rounded up) and its events are forwarded
    /// without that answer, as when the store fails: a store that hangs must not hold every event until Talkdesk's
    /// timeout. Default 2 s; more than 0 (the call's execution timeout still bounds the whole call).
    /// </summary>
    public TimeSpan LookupTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// PostgreSQL: how long a park batch's statements may take before the driver cancels them (whole seconds, rounded
    /// up); the batch then fails whole, none of its events is kept, and each is answered 503 in time to be sent again,
    /// rather than waiting for Npgsql's 30 s past Talkdesk's timeout. Default 5 s (SQLite's lock wait); more than 0.
    /// </summary>
    public TimeSpan ParkTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a park batch stays open for more events after its first (group commit). Default 0: a batch is what
    /// gathered while the previous one was committing, which adds no wait at a quiet time and grows with the load.
    /// </summary>
    public TimeSpan GroupCommitWindow { get; set; } = TimeSpan.Zero;

    /// <summary>The most events committed in one park transaction. Default 256.</summary>
    public int GroupCommitMaxEvents { get; set; } = 256;

    /// <summary>
    /// The most parks waiting for the store at once (their bodies are in memory); past it an event is answered 503 with
    /// <c>Retry-After</c> at once instead of queueing without limit. Default 4096.
    /// </summary>
    public int MaxWaitingParks { get; set; } = 4096;

    /// <summary>
    /// The most redelivery forwards in flight to one OCP® cluster; the paced drain adapts below it (from 4, growing only
    /// while OCP® answers quickly). Default 64: at 32 a PostgreSQL replica drained 2,624/s into an OCP® that took
    /// everything, at 64 3,498/s (SQLite 7,137 and 8,640/s), while against an OCP® that takes 400/s the drain and its
    /// 429s were the same (bench/drain.sh).
    /// </summary>
    public int MaxRedeliveryConcurrency { get; set; } = 64;

    /// <summary>A hard cap on redelivered events per second per OCP® cluster, for contracts that state one. None by default.</summary>
    public double? MaxRedeliveryRate { get; set; }

    /// <summary>Waits between redelivery attempts; the last repeats. Default 1 s, 5 s, 30 s, 2 min, 10 min, 30 min, 1 h.</summary>
    public List<TimeSpan> RetrySchedule { get; set; } = [];

    /// <summary>After this long an undelivered event is dead-lettered. Default 24 h.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long an accepted event's key is remembered to answer Talkdesk's resends. Default 24 h.</summary>
    public TimeSpan DedupWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a replica holds a claimed event before another may take it over. Default 30 s.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the redelivery worker looks for due events when idle. Default 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Per event type, how long after its arrival an undelivered event is still worth delivering; past it the event
    /// is set aside as <c>stale</c> (kept, replayable) and its conversation goes on. None by default: deliver however late.
    /// </summary>
    public Dictionary<string, TimeSpan> ExpireAfter { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The circuit breaker per OCP® cluster (<c>Gateway:Delivery:Breaker</c>).</summary>
    public BreakerOptions Breaker { get; set; } = new();

    /// <summary>Keys for the admin API (<c>X-Admin-Key</c>) on the management port; without one it is refused. Named <c>AdminApiKeys:N</c> in the audit.</summary>
    public List<string> AdminApiKeys { get; set; } = [];

    /// <summary>Named admin keys (<c>AdminKeys:&lt;name&gt;</c> = key): the name, never the key, is what the audit log records.</summary>
    public Dictionary<string, string> AdminKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Keys that encrypt stored bodies: id to base64 of 32 random bytes. None by default.</summary>
    public Dictionary<string, string> EncryptionKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The id of the key new rows are encrypted with; required with store-and-forward outside Development.</summary>
    public string? ActiveEncryptionKey { get; set; }

    /// <summary>How long a dead letter keeps its body before it becomes a tombstone (state <c>expired</c>). Default 14 days.</summary>
    public TimeSpan DeadLetterRetention { get; set; } = TimeSpan.FromDays(14);

    /// <summary>The schedule in force: the configured one, or the default.</summary>
    public IReadOnlyList<TimeSpan> EffectiveRetrySchedule => RetrySchedule.Count > 0 ? RetrySchedule :
    [
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2),
        TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1),
    ];
}
