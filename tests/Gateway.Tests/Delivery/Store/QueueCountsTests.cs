using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>The periodic readers' counts: read again once 50 times the last read's duration has passed, at most a minute apart.</summary>
public sealed class QueueCountsTests
{
    private readonly FakeTimeProvider _time = new();
    private TimeSpan _readTakes;
    private int _reads;

    private QueueCounts Counts() => new(_ =>
    {
        // The read "takes" _readTakes on the fake clock, as a count over a large table would.
        _reads++;
        _time.Advance(_readTakes);
        return Task.FromResult<IReadOnlyDictionary<string, long>>(new Dictionary<string, long> { [DeliveryStates.Pending] = _reads });
    }, _time);

    [Fact]
    public async Task A_read_that_took_no_time_is_read_again_every_time()
    {
        var counts = Counts();

        Assert.Equal(1, (await counts.ReadAsync(default))[DeliveryStates.Pending]);
        Assert.Equal(2, (await counts.ReadAsync(default))[DeliveryStates.Pending]);
        Assert.Equal(2, _reads);
    }

    [Fact]
    public async Task A_read_that_took_10_ms_is_kept_for_500_ms_from_its_start()
    {
        var counts = Counts();
        _readTakes = TimeSpan.FromMilliseconds(10);
        await counts.ReadAsync(default);

        _time.Advance(TimeSpan.FromMilliseconds(489));
        Assert.Equal(1, (await counts.ReadAsync(default))[DeliveryStates.Pending]);
        Assert.Equal(1, _reads);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, (await counts.ReadAsync(default))[DeliveryStates.Pending]);
        Assert.Equal(2, _reads);
    }

    [Fact]
    public async Task A_slow_read_is_kept_for_a_minute_at_most()
    {
        var counts = Counts();
        _readTakes = TimeSpan.FromSeconds(5);
        await counts.ReadAsync(default);

        _time.Advance(QueueCounts.MostStale - _readTakes - TimeSpan.FromMilliseconds(1));
        await counts.ReadAsync(default);
        Assert.Equal(1, _reads);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await counts.ReadAsync(default);
        Assert.Equal(2, _reads);
    }
}
