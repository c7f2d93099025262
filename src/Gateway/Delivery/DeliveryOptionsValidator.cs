using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>Checks <c>Gateway:Delivery</c> at start-up; every message names the key.</summary>
internal sealed partial class DeliveryOptionsValidator(IConfiguration configuration, IHostEnvironment environment) : IValidateOptions<DeliveryOptions>
{
    public ValidateOptionsResult Validate(string? name, DeliveryOptions options)
    {
        const string Section = DeliveryOptions.SectionName;
        var failures = new List<string>();
        var executionTimeout = configuration.GetValue("Gateway:ExecutionTimeout", Timeouts.ExecutionTimeoutOptions.Default);
        if (options.AttemptBudget <= TimeSpan.Zero
            || (options.Mode == DeliveryMode.StoreAndForward && options.AttemptBudget >= executionTimeout))
        {
            failures.Add($"{Section}:AttemptBudget must be more than 0 and less than Gateway:ExecutionTimeout ({executionTimeout}), so a parked event is answered 202 in time; it is {options.AttemptBudget}.");
        }

        if (options.LookupTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Section}:LookupTimeout must be more than 0; it is {options.LookupTimeout}.");
        }

        if (options.ParkTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Section}:ParkTimeout must be more than 0; it is {options.ParkTimeout}.");
        }

        if (options.AnswerMargin < TimeSpan.Zero || (options.Mode == DeliveryMode.StoreAndForward && options.AnswerMargin >= executionTimeout))
        {
            failures.Add($"{Section}:AnswerMargin must be at least 0 and less than Gateway:ExecutionTimeout ({executionTimeout}); it is {options.AnswerMargin}.");
        }

        if (options.GroupCommitWindow < TimeSpan.Zero || options.GroupCommitWindow > TimeSpan.FromMilliseconds(100))
        {
            failures.Add($"{Section}:GroupCommitWindow must be from 0 to 100 ms (every park waits up to it); it is {options.GroupCommitWindow}.");
        }

        if (options.GroupCommitMaxEvents is < 1 or > 10_000)
        {
            failures.Add($"{Section}:GroupCommitMaxEvents must be from 1 to 10000; it is {options.GroupCommitMaxEvents}.");
        }

        if (options.MaxWaitingParks is < 1 or > 1_000_000)
        {
            failures.Add($"{Section}:MaxWaitingParks must be from 1 to 1000000; it is {options.MaxWaitingParks}.");
        }

        if (options.MaxRedeliveryConcurrency is < 1 or > 1024)
        {
            failures.Add($"{Section}:MaxRedeliveryConcurrency must be from 1 to 1024; it is {options.MaxRedeliveryConcurrency}.");
        }

        if (options.MaxRedeliveryRate is { } rate && (!double.IsFinite(rate) || rate <= 0 || rate > 100_000))
        {
            failures.Add($"{Section}:MaxRedeliveryRate must be more than 0 and at most 100000 events per second (leave it out for no cap); it is {rate}.");
        }

        for (var i = 0; i < options.RetrySchedule.Count; i++)
        {
            if (options.RetrySchedule[i] <= TimeSpan.Zero)
            {
                failures.Add($"{Section}:RetrySchedule:{i} must be more than 0; it is {options.RetrySchedule[i]}.");
            }
        }

        foreach (var (key, value) in new[] { ("MaxAge", options.MaxAge), ("DedupWindow", options.DedupWindow), ("LeaseDuration", options.LeaseDuration), ("PollInterval", options.PollInterval), ("DeadLetterRetention", options.DeadLetterRetention) })
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"{Section}:{key} must be more than 0; it is {value}.");
            }
        }

        foreach (var (eventType, after) in options.ExpireAfter)
        {
            if (after <= TimeSpan.Zero)
            {
                failures.Add($"{Section}:ExpireAfter:{eventType} must be more than 0 (leave it out to deliver however late); it is {after}.");
            }
        }

        // Polly's own limits (it would throw at the first forward otherwise).
        var breaker = options.Breaker;
        if (breaker.FailureRatio is <= 0 or > 1)
        {
            failures.Add($"{Section}:Breaker:FailureRatio must be more than 0 and at most 1; it is {breaker.FailureRatio}.");
        }

        if (breaker.MinimumThroughput < 2)
        {
            failures.Add($"{Section}:Breaker:MinimumThroughput must be at least 2; it is {breaker.MinimumThroughput}.");
        }

        if (breaker.SamplingDuration < TimeSpan.FromMilliseconds(500) || breaker.SamplingDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"{Section}:Breaker:SamplingDuration must be from 00:00:00.5 to 1.00:00:00; it is {breaker.SamplingDuration}.");
        }

        if (breaker.BreakDuration < TimeSpan.FromMilliseconds(500) || breaker.BreakDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"{Section}:Breaker:BreakDuration must be from 00:00:00.5 to 1.00:00:00; it is {breaker.BreakDuration}.");
        }

        if (options.LeaseDuration <= options.AttemptBudget)
        {
            failures.Add($"{Section}:LeaseDuration must be longer than {Section}:AttemptBudget, or another replica could take over an event still being delivered; it is {options.LeaseDuration}.");
        }

        if (options.Mode == DeliveryMode.StoreAndForward && options.Store == DeliveryStoreKind.Postgres
            && string.IsNullOrWhiteSpace(configuration.GetConnectionString(DeliveryOptions.ConnectionStringName)))
        {
            failures.Add($"ConnectionStrings:{DeliveryOptions.ConnectionStringName} is required with {Section}:Store=Postgres (an Npgsql connection string, e.g. Host=db;Database=gateway;Username=gateway;Password=…).");
        }

        for (var i = 0; i < options.AdminApiKeys.Count; i++)
        {
            if (options.AdminApiKeys[i] is not { Length: >= 16 })
            {
                failures.Add($"{Section}:AdminApiKeys:{i} must be at least 16 characters.");
            }
        }

        foreach (var (adminName, adminKey) in options.AdminKeys)
        {
            if (adminKey is not { Length: >= 16 })
            {
                failures.Add($"{Section}:AdminKeys:{adminName} must be at least 16 characters.");
            }
        }

        ValidateEncryption(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_.-]{1,32}$")]
    private static partial System.Text.RegularExpressions.Regex KeyId();

    /// <summary>The keys' messages name the key id and its length, never its value (nor a prefix of it).</summary>
    private void ValidateEncryption(DeliveryOptions options, List<string> failures)
    {
        const string Section = DeliveryOptions.SectionName;
        foreach (var (id, text) in options.EncryptionKeys)
        {
            if (!KeyId().IsMatch(id))
            {
                failures.Add($"{Section}:EncryptionKeys:{id}: a key id is 1 to 32 letters, digits, '_', '.' or '-'.");
            }
            else if (!BodyProtector.TryDecodeKey(text, out _))
            {
                failures.Add($"{Section}:EncryptionKeys:{id} must be the base64 of exactly 32 random bytes (for example `openssl rand -base64 32`); the value given is not.");
            }
        }

        var active = options.ActiveEncryptionKey;
        if (!string.IsNullOrWhiteSpace(active) && !options.EncryptionKeys.ContainsKey(active))
        {
            failures.Add($"{Section}:ActiveEncryptionKey names '{active}', which is not one of {Section}:EncryptionKeys (set {Section.Replace(":", "__", StringComparison.Ordinal)}__EncryptionKeys__{active}).");
        }
        else if (string.IsNullOrWhiteSpace(active) && options.Mode == DeliveryMode.StoreAndForward && !environment.IsDevelopment())
        {
            failures.Add($"{Section}:ActiveEncryptionKey is required with {Section}:Mode=StoreAndForward: stored chats are encrypted at rest. "
                + $"Set {Section}:EncryptionKeys:<id> to the base64 of 32 random bytes and {Section}:ActiveEncryptionKey to that id.");
        }
    }
}
