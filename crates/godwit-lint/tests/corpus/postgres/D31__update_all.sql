-- expect: data-not-rerunnable
UPDATE users SET score = score + 1;
