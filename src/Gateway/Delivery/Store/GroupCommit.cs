using System.Threading.Channels;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Group commit for the live path's parks (issue #24): each park waits here and one writer commits what has
/// gathered — up to <see cref="DeliveryOptions.GroupCommitMaxEvents"/>, after at most
/// <see cref="DeliveryOptions.GroupCommitWindow"/> — in one transaction (<see cref="IDeliveryStore.ParkManyAsync"/>),
/// so an outage costs one disk sync per batch instead of one per event. A park's task completes only after the
/// transaction holding its event has committed, so a 202 still means durable; a batch that fails fails every park in
/// it, and the next batch starts on a new connection. Past <see cref="DeliveryOptions.MaxWaitingParks"/> waiting, a
/// park is refused at once (the caller answers 503 with <c>Retry-After</c>) rather than queued without limit.
/// Written by hand: no served library gathers ADO.NET writes into shared transactions with a result per item.
/// </summary>
internal sealed class GroupCommit : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IDeliveryStore _store;
    private readonly IOptionsMonitor<DeliveryOptions> _options;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly Task _writer;
    private int _waiting;
    private long _lastRefusedAt = long.MinValue;
    private long _batches;

    // While the writer holds a window open: completed by the park that brings the queue to what the batch still needs.
    private TaskCompletionSource? _full;
    private int _needed;

    public GroupCommit(IDeliveryStore store, IOptionsMonitor<DeliveryOptions> options, GatewayMetrics metrics, TimeProvider time)
    {
        _store = store;
        _options = options;
        _metrics = metrics;
        _time = time;
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>Parks waiting for their commit now (queued or in the transaction being written).</summary>
    public int WaitingParks => Volatile.Read(ref _waiting);

    /// <summary>Transactions committed or tried since start (a test's and the benchmark's view of batching).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>When a park was last refused for the waiting bound; null when never.</summary>
    public DateTimeOffset? LastRefusedAt => Interlocked.Read(ref _lastRefusedAt) is var ms and not long.MinValue ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    /// <summary>
    /// Queues the event for the next batch; <paramref name="committed"/> completes with what became of it (its id, or its
    /// key's earlier answer) once its transaction has committed, or fails with the store's error. False, at once, when
    /// <see cref="DeliveryOptions.MaxWaitingParks"/> are already waiting: the event is not kept.
    /// </summary>
    public bool TryPark(ParkRequest request, out Task<ParkResult> committed)
    {
        if (Interlocked.Increment(ref _waiting) > _options.CurrentValue.MaxWaitingParks)
        {
            Interlocked.Decrement(ref _waiting);
            Interlocked.Exchange(ref _lastRefusedAt, _time.GetUtcNow().ToUnixTimeMilliseconds());
            _metrics.ParkRefused();
            committed = Task.FromResult(default(ParkResult));
            return false;
        }

        var waiting = new Pending(request);
        if (!_queue.Writer.TryWrite(waiting))
        {
            Interlocked.Decrement(ref _waiting);
            waiting.TrySetException(new InvalidOperationException("The delivery store's writer has stopped (the gateway is shutting down)."));
        }

        else if (Volatile.Read(ref _full) is { } full && _queue.Reader.Count >= Volatile.Read(ref _needed))
        {
            full.TrySetResult();
        }

        committed = waiting.Task;
        return true;
    }

    private async Task WriteAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var settings = _options.CurrentValue;
            var max = settings.GroupCommitMaxEvents;
            Take(reader, batch, max);
            if (batch.Count < max && settings.GroupCommitWindow > TimeSpan.Zero)
            {
                // The window opens with the batch's first event (a park at a quiet time waits at most this long) and
                // closes early once the batch could be full.
                var full = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _needed, max - batch.Count);
                Volatile.Write(ref _full, full);
                if (reader.Count < max - batch.Count)
                {
                    await Task.WhenAny(full.Task, Task.Delay(settings.GroupCommitWindow, _time)).ConfigureAwait(false);
                }

                Volatile.Write(ref _full, null);
                Take(reader, batch, max);
            }

            await CommitAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    private static void Take(ChannelReader<Pending> reader, List<Pending> batch, int max)
    {
        while (batch.Count < max && reader.TryRead(out var waiting))
        {
            batch.Add(waiting);
        }
    }

    private async Task CommitAsync(List<Pending> batch)
    {
        // The same event twice in one batch (a resend that arrived while the first was waiting): kept once, both
        // answered with its id, as a resend after the commit would be.
        var requests = new List<ParkRequest>(batch.Count);
        var slots = new int[batch.Count];
        Dictionary<string, int>? seen = batch.Count > 1 ? new(batch.Count, StringComparer.Ordinal) : null;
        for (var i = 0; i < batch.Count; i++)
        {
            var key = batch[i].Request.Event.IdempotencyKey;
            if (seen is not null && seen.TryGetValue(key, out var slot))
            {
                slots[i] = slot;
                continue;
            }

            slots[i] = requests.Count;
            seen?.Add(key, requests.Count);
            requests.Add(batch[i].Request);
        }

        Interlocked.Increment(ref _batches);
        try
        {
            var results = await _store.ParkManyAsync(requests, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
            _metrics.ParkBatch(requests.Count);
            Interlocked.Add(ref _waiting, -batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].TrySetResult(results[slots[i]]);
            }
        }
        catch (Exception ex)
        {
            // Every event of a failed batch fails (503 to each caller); none was kept, as the transaction rolled back.
            Interlocked.Add(ref _waiting, -batch.Count);
            foreach (var waiting in batch)
            {
                waiting.TrySetException(ex);
            }
        }
    }

    /// <summary>Stops taking parks and commits those already waiting.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private sealed class Pending(ParkRequest request) : TaskCompletionSource<ParkResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ParkRequest Request { get; } = request;
    }
}
