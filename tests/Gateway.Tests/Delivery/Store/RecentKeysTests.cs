using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// The in-memory answer for recent keys: it may send a lookup to the table, but it must never call a key it
/// recorded new (that would deliver a resend twice), whatever the time, the sweeps or the cap do.
/// </summary>
public sealed class RecentKeysTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);

    private static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static string Key(int n) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(n)));

    private RecentKeys Loaded(int capacity = 1000)
    {
        var keys = new RecentKeys(_time, TimeSpan.FromMinutes(1), capacity);
        keys.Load([], keys.StartFloor());
        return keys;
    }

    [Fact]
    public void Answers_nothing_before_it_is_loaded()
    {
        var keys = new RecentKeys(_time);
        keys.Add(Key(1), Ms(Now), 200, null, Ms(Now));

        Assert.False(keys.TryFind(Key(1), Ms(Now), 0, out _));
        Assert.False(keys.TryFind(Key(2), Ms(Now), 0, out _));
    }

    [Fact]
    public void A_recorded_key_is_found_with_its_answer_and_a_new_one_is_new()
    {
        var keys = Loaded();
        keys.Add(Key(1), Ms(Now), 200, null, Ms(Now));
        keys.Add(Key(2), Ms(Now), 202, 42, Ms(Now));

        Assert.True(keys.TryFind(Key(1), Ms(Now), 0, out var direct));
        Assert.Equal((200, (long?)null), direct);
        Assert.True(keys.TryFind(Key(2), Ms(Now), 0, out var queued));
        Assert.Equal((202, (long?)42), queued);
        Assert.True(keys.TryFind(Key(3), Ms(Now), 0, out var unknown));
        Assert.Null(unknown);
    }

    [Fact]
    public void Add_says_whether_memory_keeps_the_key_long_enough_for_it_to_be_written()
    {
        var keys = Loaded();

        var fresh = keys.Add(Key(1), Ms(Now), 200, null, Ms(Now));
        var nearTheFloor = keys.Add(Key(2), Ms(Now.AddSeconds(-45)), 200, null, Ms(Now));
        var belowTheFloor = keys.Add(Key(3), Ms(Now.AddMinutes(-5)), 200, null, Ms(Now));

        Assert.True(fresh);
        // Held for now, but a sweep within the next 15 s may drop it: the writer must keep answering for it.
        Assert.False(nearTheFloor);
        Assert.True(keys.TryFind(Key(2), Ms(Now.AddSeconds(-45)), 0, out var held));
        Assert.NotNull(held);
        Assert.False(belowTheFloor);
    }

    [Fact]
    public void The_first_answer_stands()
    {
        var keys = Loaded();
        keys.Add(Key(1), Ms(Now), 202, 7, Ms(Now));
        keys.Add(Key(1), Ms(Now), 200, null, Ms(Now));

        Assert.True(keys.TryFind(Key(1), Ms(Now), 0, out var earlier));
        Assert.Equal((202, (long?)7), earlier);
    }

    [Fact]
    public void A_key_accepted_before_the_dedup_window_is_not_an_earlier_answer()
    {
        var keys = Loaded();
        keys.Add(Key(1), Ms(Now), 200, null, Ms(Now));

        Assert.True(keys.TryFind(Key(1), Ms(Now), Ms(Now) + 1, out var earlier));
        Assert.Null(earlier);
    }

    [Fact]
    public void Events_older_than_the_span_or_without_a_time_go_to_the_table()
    {
        var keys = Loaded();

        Assert.False(keys.TryFind(Key(1), Ms(Now.AddMinutes(-2)), 0, out _));
        Assert.False(keys.TryFind(Key(1), 0, 0, out _));
        Assert.True(keys.TryFind(Key(1), Ms(Now.AddSeconds(-59)), 0, out _));
    }

    [Fact]
    public void A_sweep_forgets_old_keys_and_sends_their_times_to_the_table()
    {
        var keys = Loaded();
        keys.Add(Key(1), Ms(Now), 200, null, Ms(Now));
        _time.Advance(TimeSpan.FromSeconds(61));
        keys.Add(Key(2), Ms(_time.GetUtcNow()), 200, null, Ms(_time.GetUtcNow()));

        keys.SweepIfDue();

        Assert.Equal(1, keys.Count);
        Assert.False(keys.TryFind(Key(1), Ms(Now), 0, out _));
        Assert.True(keys.TryFind(Key(2), Ms(_time.GetUtcNow()), 0, out var kept));
        Assert.Equal((200, (long?)null), kept);
    }

    [Fact]
    public void A_sweep_waits_for_its_turn()
    {
        var keys = Loaded();
        keys.Add(Key(1), Ms(Now), 200, null, Ms(Now));
        _time.Advance(TimeSpan.FromSeconds(10)); // a quarter span is 15 s

        keys.SweepIfDue();

        Assert.Equal(Ms(Now.AddMinutes(-1)), keys.Floor);
        Assert.Equal(1, keys.Count);
    }

    [Fact]
    public void When_full_the_floor_passes_a_key_it_has_no_room_for()
    {
        var keys = Loaded(capacity: 2);
        keys.Add(Key(1), Ms(Now), 200, null, Ms(Now));
        keys.Add(Key(2), Ms(Now), 200, null, Ms(Now));
        keys.Add(Key(3), Ms(Now.AddSeconds(5)), 200, null, Ms(Now));

        Assert.Equal(2, keys.Count);
        Assert.False(keys.TryFind(Key(3), Ms(Now.AddSeconds(5)), 0, out _));
        Assert.True(keys.TryFind(Key(4), Ms(Now.AddSeconds(6)), 0, out var later));
        Assert.Null(later);

        // Full means a sweep is due at once; it forgets what is now below the floor and makes room.
        keys.SweepIfDue();
        Assert.Equal(0, keys.Count);
    }

    [Fact]
    public void A_start_with_more_keys_than_room_answers_only_above_the_lowest_kept()
    {
        var keys = new RecentKeys(_time, TimeSpan.FromMinutes(1), capacity: 2);
        keys.Load(
        [
            (Key(3), Ms(Now.AddSeconds(-1)), 200, null, Ms(Now)),
            (Key(2), Ms(Now.AddSeconds(-2)), 200, null, Ms(Now)),
            (Key(1), Ms(Now.AddSeconds(-3)), 200, null, Ms(Now)),
        ], keys.StartFloor());

        Assert.Equal(Ms(Now.AddSeconds(-2)) + 1, keys.Floor);
        Assert.False(keys.TryFind(Key(1), Ms(Now.AddSeconds(-3)), 0, out _));
        Assert.False(keys.TryFind(Key(2), Ms(Now.AddSeconds(-2)), 0, out _));
        Assert.True(keys.TryFind(Key(3), Ms(Now.AddSeconds(-1)), 0, out var found));
        Assert.Equal((200, (long?)null), found);
    }

    [Fact]
    public async Task Under_concurrent_adds_and_sweeps_a_recorded_key_is_never_called_new()
    {
        // Writers record keys stamped with the (moving) clock and look each one up again, at once and much later
        // (when a sweep may be removing it), while another thread moves the clock and sweeps: every answer must be
        // "found" or "ask the table".
        var keys = new RecentKeys(_time, TimeSpan.FromMilliseconds(40), capacity: 5_000);
        keys.Load([], keys.StartFloor());
        using var stop = new CancellationTokenSource();
        var sweeper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _time.Advance(TimeSpan.FromMilliseconds(3));
                keys.SweepIfDue();
            }
        });
        var wrong = 0;
        var answered = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var stamps = new long[20_000];
            for (var i = 0; i < stamps.Length; i++)
            {
                var key = Key(w * 1_000_000 + i);
                stamps[i] = Ms(_time.GetUtcNow());
                keys.Add(key, stamps[i], 200, null, stamps[i]);
                foreach (var back in (ReadOnlySpan<int>)[0, 50, 500])
                {
                    if (i >= back && keys.TryFind(Key(w * 1_000_000 + i - back), stamps[i - back], 0, out var earlier))
                    {
                        Interlocked.Increment(ref answered);
                        if (earlier is null)
                        {
                            Interlocked.Increment(ref wrong);
                        }
                    }
                }
            }
        })));
        await stop.CancelAsync();
        await sweeper;

        Assert.Equal(0, wrong);
        Assert.True(answered > 0, "memory never answered");
    }
}
