"""The pages' words in Chinese and English, and how numbers, money and dates read in each."""
