namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// Waits for a condition the gateway's background worker brings about (a redelivery seen by the
/// WireMock OCP®): checked every 20 ms, failing after a bound. Not a sleep: it returns as soon as the
/// condition holds, and the workers run on short configured intervals.
/// </summary>
internal static class Eventually
{
    public static async Task<bool> HoldsAsync(Func<bool> condition, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            try
            {
                await Task.Delay(20, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return condition();
            }
        }

        return true;
    }

    /// <summary>The same for a condition that must be asked over the network.</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            try
            {
                await Task.Delay(20, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return await condition();
            }
        }

        return true;
    }
}
